// Package server wires the HTTP routes and runs the server with graceful shutdown.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sos-app/location-service/internal/handlers"
	"github.com/sos-app/platform/health"
)

// Config configures the HTTP server.
type Config struct {
	Port       string
	HealthPath string
	Service    string
	Version    string
	Logger     *slog.Logger
}

// New builds the http.Server (not yet listening).
func New(cfg Config) *http.Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HealthPath == "" {
		cfg.HealthPath = "/health"
	}
	return &http.Server{
		Addr:              ":" + cfg.Port,
		Handler:           Handler(cfg),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelError),
	}
}

// Handler returns the root handler: the health path, the domain routes,
// and a JSON 404 for everything else, wrapped in request logging.
func Handler(cfg Config) http.Handler {
	mux := http.NewServeMux()
	registerRoutes(mux)
	mux.Handle("/", handlers.NotFound())

	healthHandler := health.NewHandler(cfg.Service, cfg.Version)
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == cfg.HealthPath {
			healthHandler.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return logRequests(cfg.Logger, cfg.HealthPath, root)
}

// Run listens on srv.Addr and serves until ctx is cancelled, then shuts down
// gracefully within shutdownTimeout.
func Run(ctx context.Context, srv *http.Server, logger *slog.Logger, shutdownTimeout time.Duration) error {
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return err
	}
	return Serve(ctx, srv, ln, logger, shutdownTimeout)
}

// Serve is like Run but uses an existing listener.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, logger *slog.Logger, shutdownTimeout time.Duration) error {
	errCh := make(chan error, 1)
	go func() { errCh <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errCh:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}

	logger.Info("shutting down", "timeout", shutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return err
	}
	if err := <-errCh; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func logRequests(logger *slog.Logger, healthPath string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		level := slog.LevelInfo
		if r.URL.Path == healthPath {
			level = slog.LevelDebug // keep HEALTHCHECK probes out of the default log
		}
		logger.Log(r.Context(), level, "request",
			"method", r.Method,
			"path", r.URL.Path,
			"status", rec.status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"remote", r.RemoteAddr,
		)
	})
}

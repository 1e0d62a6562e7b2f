// Command emergency-service runs the emergency-service HTTP server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sos-app/platform/health"
	"github.com/sos-app/emergency-service/internal/server"
)

// Build metadata, overridden at build time via
// -ldflags "-X main.Version=... -X main.BuildDate=... -X main.GitCommit=...".
var (
	Version   = "dev"
	BuildDate = "unknown"
	GitCommit = "unknown"
)

const (
	serviceName       = "emergency-service"
	defaultPort       = "8080"
	defaultHealthPath = "/health"
	probeTimeout      = 3 * time.Second
	shutdownTimeout   = 5 * time.Second
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(serviceName, flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print version information and exit")
	healthcheck := fs.Bool("healthcheck", false, "probe http://127.0.0.1:$PORT$HEALTH_PATH and exit 0 if it returns 200, 1 otherwise")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}

	if *showVersion {
		fmt.Fprintf(stdout, "Version:    %s\nBuild Date: %s\nGit Commit: %s\n", Version, BuildDate, GitCommit)
		return 0
	}

	port := envOr("PORT", defaultPort)
	healthPath := normalizePath(envOr("HEALTH_PATH", defaultHealthPath))

	if *healthcheck {
		url := "http://127.0.0.1:" + port + healthPath
		if err := health.Probe(url, probeTimeout); err != nil {
			fmt.Fprintf(stderr, "healthcheck failed: %v\n", err)
			return 1
		}
		return 0
	}

	logger := slog.New(slog.NewJSONHandler(stdout, nil)).With("service", serviceName)
	slog.SetDefault(logger)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	srv := server.New(server.Config{
		Port:       port,
		HealthPath: healthPath,
		Service:    serviceName,
		Version:    Version,
		Logger:     logger,
	})
	logger.Info("starting", "addr", srv.Addr, "health_path", healthPath,
		"version", Version, "build_date", BuildDate, "git_commit", GitCommit)
	if err := server.Run(ctx, srv, logger, shutdownTimeout); err != nil {
		logger.Error("server error", "error", err.Error())
		return 1
	}
	logger.Info("stopped")
	return 0
}

func envOr(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}

func normalizePath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "/" + p
	}
	return p
}

// Package health provides the liveness endpoint and the client-side probe
// used by the container HEALTHCHECK.
package health

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Response is the JSON body returned by the health endpoint.
type Response struct {
	Status    string  `json:"status"`
	Service   string  `json:"service"`
	Version   string  `json:"version"`
	Timestamp string  `json:"timestamp"`
	Uptime    float64 `json:"uptime"`
}

// Handler serves the health endpoint.
type Handler struct {
	service string
	version string
	started time.Time
	now     func() time.Time
}

// NewHandler returns a health handler; uptime is measured from this call.
func NewHandler(service, version string) *Handler {
	return &Handler{service: service, version: version, started: time.Now(), now: time.Now}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "method not allowed"})
		return
	}
	now := h.now()
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(Response{
		Status:    "healthy",
		Service:   h.service,
		Version:   h.version,
		Timestamp: now.UTC().Format(time.RFC3339),
		Uptime:    now.Sub(h.started).Seconds(),
	})
}

// Probe performs GET url and returns nil only if the response is 200 OK.
// Proxies from the environment are ignored on purpose.
func Probe(url string, timeout time.Duration) error {
	client := &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: unexpected status %d", url, resp.StatusCode)
	}
	return nil
}

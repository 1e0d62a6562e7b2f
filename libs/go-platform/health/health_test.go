package health

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	h := NewHandler("test-service", "v1.2.3")
	h.started = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return h.started.Add(90 * time.Second) }

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))

	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	var body Response
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	want := Response{Status: "healthy", Service: "test-service", Version: "v1.2.3",
		Timestamp: "2024-01-01T00:01:30Z", Uptime: 90}
	if body != want {
		t.Fatalf("got %+v, want %+v", body, want)
	}
}

func TestHandlerMethodNotAllowed(t *testing.T) {
	rec := httptest.NewRecorder()
	NewHandler("s", "v").ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/health", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("status %d, want 405", rec.Code)
	}
}

func TestProbe(t *testing.T) {
	ok := httptest.NewServer(NewHandler("s", "v"))
	defer ok.Close()
	if err := Probe(ok.URL+"/health", time.Second); err != nil {
		t.Fatalf("healthy server: %v", err)
	}

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer bad.Close()
	if err := Probe(bad.URL+"/health", time.Second); err == nil {
		t.Fatal("expected error for 503")
	}

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	if err := Probe(slow.URL, 100*time.Millisecond); err == nil {
		t.Fatal("expected timeout error")
	}

	addr := closedAddr(t)
	if err := Probe("http://"+addr+"/health", time.Second); err == nil {
		t.Fatal("expected connection error")
	}
}

func closedAddr(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	addr := s.Listener.Addr().String()
	s.Close()
	return addr
}

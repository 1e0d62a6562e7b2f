package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAlertsAccepted(t *testing.T) {
	a := NewAlerts()
	a.now = func() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) }

	rec := httptest.NewRecorder()
	body := `{"user_id":"u-1","type":"Medical","latitude":52.5,"longitude":13.4}`
	a.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/alerts", strings.NewReader(body)))

	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d, want 202; body %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	var resp AlertResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.ID) != 32 || resp.Status != "accepted" || resp.Type != "medical" || resp.ReceivedAt != "2024-05-01T12:00:00Z" {
		t.Fatalf("unexpected response %+v", resp)
	}
	if a.Count() != 1 {
		t.Fatalf("count %d, want 1", a.Count())
	}

	rec2 := httptest.NewRecorder()
	a.ServeHTTP(rec2, httptest.NewRequest(http.MethodPost, "/alerts", strings.NewReader(`{"user_id":"u-1"}`)))
	var resp2 AlertResponse
	_ = json.Unmarshal(rec2.Body.Bytes(), &resp2)
	if rec2.Code != http.StatusAccepted || resp2.Type != "sos" || resp2.ID == resp.ID {
		t.Fatalf("second alert: status %d, %+v", rec2.Code, resp2)
	}
}

func TestAlertsRejected(t *testing.T) {
	for name, tc := range map[string]struct {
		method, body string
		want         int
	}{
		"wrong method":    {http.MethodGet, "", http.StatusMethodNotAllowed},
		"bad json":        {http.MethodPost, `{`, http.StatusBadRequest},
		"unknown field":   {http.MethodPost, `{"user_id":"u","x":1}`, http.StatusBadRequest},
		"missing user":    {http.MethodPost, `{"type":"sos"}`, http.StatusBadRequest},
		"unknown type":    {http.MethodPost, `{"user_id":"u","type":"party"}`, http.StatusBadRequest},
		"half coordinate": {http.MethodPost, `{"user_id":"u","latitude":1}`, http.StatusBadRequest},
		"out of range":    {http.MethodPost, `{"user_id":"u","latitude":91,"longitude":0}`, http.StatusBadRequest},
	} {
		a := NewAlerts()
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, httptest.NewRequest(tc.method, "/alerts", strings.NewReader(tc.body)))
		if rec.Code != tc.want {
			t.Errorf("%s: status %d, want %d", name, rec.Code, tc.want)
		}
		if a.Count() != 0 {
			t.Errorf("%s: alert stored", name)
		}
	}
}

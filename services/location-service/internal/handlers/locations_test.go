package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func post(t *testing.T, s *Store, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Create(rec, httptest.NewRequest(http.MethodPost, "/locations", strings.NewReader(body)))
	return rec
}

func getLatest(t *testing.T, s *Store, query string) (*httptest.ResponseRecorder, Location) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.GetLatest(rec, httptest.NewRequest(http.MethodGet, "/locations/latest"+query, nil))
	var loc Location
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &loc); err != nil {
			t.Fatal(err)
		}
	}
	return rec, loc
}

func TestLocationsCreateAndLatest(t *testing.T) {
	s := NewStore()
	s.now = func() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) }

	if rec, _ := getLatest(t, s, ""); rec.Code != http.StatusNotFound {
		t.Fatalf("empty store: status %d, want 404", rec.Code)
	}

	rec := post(t, s, `{"device_id":"d1","latitude":52.52,"longitude":13.405,"accuracy":5}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d, want 201; body %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	if rec := post(t, s, `{"device_id":"d2","latitude":-33.86,"longitude":151.2}`); rec.Code != http.StatusCreated {
		t.Fatalf("status %d", rec.Code)
	}

	rec, loc := getLatest(t, s, "")
	if rec.Code != http.StatusOK || loc.DeviceID != "d2" || loc.Latitude != -33.86 || loc.Accuracy != nil {
		t.Fatalf("latest overall: %d %+v", rec.Code, loc)
	}
	rec, loc = getLatest(t, s, "?device_id=d1")
	if rec.Code != http.StatusOK || loc.DeviceID != "d1" || loc.Longitude != 13.405 ||
		loc.Accuracy == nil || *loc.Accuracy != 5 || loc.RecordedAt != "2024-05-01T12:00:00Z" {
		t.Fatalf("latest d1: %d %+v", rec.Code, loc)
	}
	if rec, _ := getLatest(t, s, "?device_id=unknown"); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown device: status %d, want 404", rec.Code)
	}
}

func TestLocationsRejected(t *testing.T) {
	for name, body := range map[string]string{
		"bad json":      `{`,
		"missing id":    `{"latitude":1,"longitude":1}`,
		"missing coord": `{"device_id":"d","latitude":1}`,
		"bad latitude":  `{"device_id":"d","latitude":-91,"longitude":1}`,
		"bad longitude": `{"device_id":"d","latitude":1,"longitude":181}`,
		"bad accuracy":  `{"device_id":"d","latitude":1,"longitude":1,"accuracy":-1}`,
	} {
		s := NewStore()
		if rec := post(t, s, body); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, rec.Code)
		}
		if _, ok := s.Latest(""); ok {
			t.Errorf("%s: location stored", name)
		}
	}

	s := NewStore()
	rec := httptest.NewRecorder()
	s.Create(rec, httptest.NewRequest(http.MethodGet, "/locations", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /locations: status %d, want 405", rec.Code)
	}
	rec = httptest.NewRecorder()
	s.GetLatest(rec, httptest.NewRequest(http.MethodPost, "/locations/latest", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /locations/latest: status %d, want 405", rec.Code)
	}
}

func TestStoreConcurrent(t *testing.T) {
	s := NewStore()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); s.Put(Location{DeviceID: "d"}) }()
		go func() { defer wg.Done(); s.Latest("d") }()
	}
	wg.Wait()
	if _, ok := s.Latest("d"); !ok {
		t.Fatal("expected a location")
	}
}

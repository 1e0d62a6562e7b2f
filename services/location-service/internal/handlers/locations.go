package handlers

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Location is a single position report from a device.
type Location struct {
	DeviceID   string   `json:"device_id"`
	Latitude   float64  `json:"latitude"`
	Longitude  float64  `json:"longitude"`
	Accuracy   *float64 `json:"accuracy,omitempty"`
	RecordedAt string   `json:"recorded_at"`
}

type locationRequest struct {
	DeviceID  string   `json:"device_id"`
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	Accuracy  *float64 `json:"accuracy,omitempty"`
}

// Store keeps the latest location per device in memory.
type Store struct {
	mu       sync.RWMutex
	byDevice map[string]Location
	latest   *Location
	now      func() time.Time
}

// NewStore returns an empty in-memory location store.
func NewStore() *Store {
	return &Store{byDevice: make(map[string]Location), now: time.Now}
}

// Put records loc as the latest location of its device and overall.
func (s *Store) Put(loc Location) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byDevice[loc.DeviceID] = loc
	s.latest = &loc
}

// Latest returns the latest location for deviceID, or the latest overall
// when deviceID is empty.
func (s *Store) Latest(deviceID string) (Location, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if deviceID == "" {
		if s.latest == nil {
			return Location{}, false
		}
		return *s.latest, true
	}
	loc, ok := s.byDevice[deviceID]
	return loc, ok
}

// Create handles POST /locations.
func (s *Store) Create(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	var req locationRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	req.DeviceID = strings.TrimSpace(req.DeviceID)
	switch {
	case req.DeviceID == "":
		WriteError(w, http.StatusBadRequest, "device_id is required")
		return
	case req.Latitude == nil || req.Longitude == nil:
		WriteError(w, http.StatusBadRequest, "latitude and longitude are required")
		return
	case *req.Latitude < -90 || *req.Latitude > 90:
		WriteError(w, http.StatusBadRequest, "latitude must be between -90 and 90")
		return
	case *req.Longitude < -180 || *req.Longitude > 180:
		WriteError(w, http.StatusBadRequest, "longitude must be between -180 and 180")
		return
	case req.Accuracy != nil && *req.Accuracy < 0:
		WriteError(w, http.StatusBadRequest, "accuracy must not be negative")
		return
	}
	loc := Location{
		DeviceID:   req.DeviceID,
		Latitude:   *req.Latitude,
		Longitude:  *req.Longitude,
		Accuracy:   req.Accuracy,
		RecordedAt: s.now().UTC().Format(time.RFC3339),
	}
	s.Put(loc)
	WriteJSON(w, http.StatusCreated, loc)
}

// GetLatest handles GET /locations/latest[?device_id=...].
func (s *Store) GetLatest(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, http.MethodGet, http.MethodHead)
		return
	}
	loc, ok := s.Latest(strings.TrimSpace(r.URL.Query().Get("device_id")))
	if !ok {
		WriteError(w, http.StatusNotFound, "no location recorded")
		return
	}
	WriteJSON(w, http.StatusOK, loc)
}

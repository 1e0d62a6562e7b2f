package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// AlertRequest is the body accepted by POST /alerts.
type AlertRequest struct {
	UserID    string   `json:"user_id"`
	Type      string   `json:"type"`
	Message   string   `json:"message,omitempty"`
	Latitude  *float64 `json:"latitude,omitempty"`
	Longitude *float64 `json:"longitude,omitempty"`
}

// AlertResponse is returned once an alert has been accepted.
type AlertResponse struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Type       string `json:"type"`
	ReceivedAt string `json:"received_at"`
}

var alertTypes = map[string]bool{"sos": true, "medical": true, "fire": true, "police": true, "accident": true}

// Alerts handles POST /alerts. Accepted alerts are kept in memory; a real
// deployment would hand them to a dispatcher queue instead.
type Alerts struct {
	mu     sync.Mutex
	alerts []AlertResponse
	newID  func() (string, error)
	now    func() time.Time
}

// NewAlerts returns an Alerts handler.
func NewAlerts() *Alerts {
	return &Alerts{newID: randomID, now: time.Now}
}

// ServeHTTP implements http.Handler.
func (a *Alerts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	var req AlertRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	req.UserID = strings.TrimSpace(req.UserID)
	req.Type = strings.ToLower(strings.TrimSpace(req.Type))
	if req.Type == "" {
		req.Type = "sos"
	}
	switch {
	case req.UserID == "":
		WriteError(w, http.StatusBadRequest, "user_id is required")
		return
	case !alertTypes[req.Type]:
		WriteError(w, http.StatusBadRequest, "unknown alert type: "+req.Type)
		return
	case (req.Latitude == nil) != (req.Longitude == nil):
		WriteError(w, http.StatusBadRequest, "latitude and longitude must be given together")
		return
	case req.Latitude != nil && (*req.Latitude < -90 || *req.Latitude > 90 || *req.Longitude < -180 || *req.Longitude > 180):
		WriteError(w, http.StatusBadRequest, "coordinates out of range")
		return
	}

	id, err := a.newID()
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "could not allocate alert id")
		return
	}
	resp := AlertResponse{
		ID:         id,
		Status:     "accepted",
		Type:       req.Type,
		ReceivedAt: a.now().UTC().Format(time.RFC3339),
	}
	a.mu.Lock()
	a.alerts = append(a.alerts, resp)
	a.mu.Unlock()

	WriteJSON(w, http.StatusAccepted, resp)
}

// Count returns how many alerts have been accepted.
func (a *Alerts) Count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.alerts)
}

func randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

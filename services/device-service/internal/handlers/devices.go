package handlers

import (
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Device is a registered client device (phone, wearable, panic button).
type Device struct {
	DeviceID     string `json:"device_id"`
	UserID       string `json:"user_id"`
	Platform     string `json:"platform"`
	Name         string `json:"name,omitempty"`
	RegisteredAt string `json:"registered_at"`
	UpdatedAt    string `json:"updated_at"`
}

type registerRequest struct {
	DeviceID string `json:"device_id"`
	UserID   string `json:"user_id"`
	Platform string `json:"platform"`
	Name     string `json:"name,omitempty"`
}

var platforms = map[string]bool{"android": true, "ios": true, "web": true, "wearable": true}

// Registry keeps registered devices in memory.
type Registry struct {
	mu      sync.RWMutex
	devices map[string]Device
	now     func() time.Time
}

// NewRegistry returns an empty in-memory device registry.
func NewRegistry() *Registry {
	return &Registry{devices: make(map[string]Device), now: time.Now}
}

// Register handles POST /devices/register. A new device yields 201;
// re-registering an existing device_id updates it and yields 200.
func (reg *Registry) Register(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	var req registerRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	req.DeviceID = strings.TrimSpace(req.DeviceID)
	req.UserID = strings.TrimSpace(req.UserID)
	req.Platform = strings.ToLower(strings.TrimSpace(req.Platform))
	switch {
	case req.DeviceID == "":
		WriteError(w, http.StatusBadRequest, "device_id is required")
		return
	case req.UserID == "":
		WriteError(w, http.StatusBadRequest, "user_id is required")
		return
	case !platforms[req.Platform]:
		WriteError(w, http.StatusBadRequest, "platform must be one of android, ios, web, wearable")
		return
	}

	now := reg.now().UTC().Format(time.RFC3339)
	reg.mu.Lock()
	existing, exists := reg.devices[req.DeviceID]
	d := Device{
		DeviceID:     req.DeviceID,
		UserID:       req.UserID,
		Platform:     req.Platform,
		Name:         strings.TrimSpace(req.Name),
		RegisteredAt: now,
		UpdatedAt:    now,
	}
	if exists {
		d.RegisteredAt = existing.RegisteredAt
	}
	reg.devices[d.DeviceID] = d
	reg.mu.Unlock()

	status := http.StatusCreated
	if exists {
		status = http.StatusOK
	}
	WriteJSON(w, status, d)
}

// List handles GET /devices[?user_id=...], sorted by device_id.
func (reg *Registry) List(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, http.MethodGet, http.MethodHead)
		return
	}
	userID := strings.TrimSpace(r.URL.Query().Get("user_id"))
	reg.mu.RLock()
	out := make([]Device, 0, len(reg.devices))
	for _, d := range reg.devices {
		if userID == "" || d.UserID == userID {
			out = append(out, d)
		}
	}
	reg.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].DeviceID < out[j].DeviceID })
	WriteJSON(w, http.StatusOK, map[string]any{"devices": out, "count": len(out)})
}

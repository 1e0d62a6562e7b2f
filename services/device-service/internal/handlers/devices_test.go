package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type listResponse struct {
	Devices []Device `json:"devices"`
	Count   int      `json:"count"`
}

func register(t *testing.T, reg *Registry, body string) (*httptest.ResponseRecorder, Device) {
	t.Helper()
	rec := httptest.NewRecorder()
	reg.Register(rec, httptest.NewRequest(http.MethodPost, "/devices/register", strings.NewReader(body)))
	var d Device
	if rec.Code < 300 {
		if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
	}
	return rec, d
}

func list(t *testing.T, reg *Registry, query string) listResponse {
	t.Helper()
	rec := httptest.NewRecorder()
	reg.List(rec, httptest.NewRequest(http.MethodGet, "/devices"+query, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("list: status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	var lr listResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &lr); err != nil {
		t.Fatal(err)
	}
	return lr
}

func TestDevicesRegisterAndList(t *testing.T) {
	reg := NewRegistry()
	clock := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	reg.now = func() time.Time { return clock }

	if lr := list(t, reg, ""); lr.Count != 0 || lr.Devices == nil {
		t.Fatalf("empty list: %+v (devices must be [] not null)", lr)
	}

	rec, d := register(t, reg, `{"device_id":"phone-2","user_id":"u1","platform":"Android","name":"Pixel"}`)
	if rec.Code != http.StatusCreated || d.Platform != "android" || d.RegisteredAt != "2024-05-01T12:00:00Z" {
		t.Fatalf("register: %d %+v", rec.Code, d)
	}
	if rec, _ := register(t, reg, `{"device_id":"phone-1","user_id":"u2","platform":"ios"}`); rec.Code != http.StatusCreated {
		t.Fatalf("register: %d", rec.Code)
	}

	clock = clock.Add(time.Hour)
	rec, d = register(t, reg, `{"device_id":"phone-2","user_id":"u1","platform":"android","name":"Pixel 8"}`)
	if rec.Code != http.StatusOK || d.Name != "Pixel 8" ||
		d.RegisteredAt != "2024-05-01T12:00:00Z" || d.UpdatedAt != "2024-05-01T13:00:00Z" {
		t.Fatalf("re-register: %d %+v", rec.Code, d)
	}

	lr := list(t, reg, "")
	if lr.Count != 2 || len(lr.Devices) != 2 || lr.Devices[0].DeviceID != "phone-1" || lr.Devices[1].DeviceID != "phone-2" {
		t.Fatalf("list: %+v", lr)
	}
	if lr := list(t, reg, "?user_id=u1"); lr.Count != 1 || lr.Devices[0].DeviceID != "phone-2" {
		t.Fatalf("filtered list: %+v", lr)
	}
}

func TestDevicesRejected(t *testing.T) {
	for name, body := range map[string]string{
		"bad json":       `[]`,
		"missing device": `{"user_id":"u","platform":"ios"}`,
		"missing user":   `{"device_id":"d","platform":"ios"}`,
		"bad platform":   `{"device_id":"d","user_id":"u","platform":"symbian"}`,
		"unknown field":  `{"device_id":"d","user_id":"u","platform":"ios","x":1}`,
	} {
		reg := NewRegistry()
		if rec, _ := register(t, reg, body); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, rec.Code)
		}
		if lr := list(t, reg, ""); lr.Count != 0 {
			t.Errorf("%s: device stored", name)
		}
	}

	reg := NewRegistry()
	rec := httptest.NewRecorder()
	reg.Register(rec, httptest.NewRequest(http.MethodGet, "/devices/register", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /devices/register: status %d, want 405", rec.Code)
	}
	rec = httptest.NewRecorder()
	reg.List(rec, httptest.NewRequest(http.MethodDelete, "/devices", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /devices: status %d, want 405", rec.Code)
	}
}

package server

import (
	"net/http"

	"github.com/sos-app/device-service/internal/handlers"
)

// registerRoutes adds the device-service domain endpoints.
func registerRoutes(mux *http.ServeMux) {
	reg := handlers.NewRegistry()
	mux.HandleFunc("/devices", reg.List)
	mux.HandleFunc("/devices/register", reg.Register)
}

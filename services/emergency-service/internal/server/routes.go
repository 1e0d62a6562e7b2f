package server

import (
	"net/http"

	"github.com/sos-app/emergency-service/internal/handlers"
)

// registerRoutes adds the emergency-service domain endpoints.
func registerRoutes(mux *http.ServeMux) {
	mux.Handle("/alerts", handlers.NewAlerts())
}

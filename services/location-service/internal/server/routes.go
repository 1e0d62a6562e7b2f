package server

import (
	"net/http"

	"github.com/sos-app/location-service/internal/handlers"
)

// registerRoutes adds the location-service domain endpoints.
func registerRoutes(mux *http.ServeMux) {
	store := handlers.NewStore()
	mux.HandleFunc("/locations", store.Create)
	mux.HandleFunc("/locations/latest", store.GetLatest)
}

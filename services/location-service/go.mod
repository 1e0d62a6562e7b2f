module github.com/sos-app/location-service

go 1.21

module github.com/sos-app/device-service

go 1.21

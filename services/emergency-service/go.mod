module github.com/sos-app/emergency-service

go 1.21

module github.com/sos-app/platform

go 1.21

module github.com/sos-app/device-service

go 1.21

require github.com/sos-app/platform v0.0.0

replace github.com/sos-app/platform => ../../libs/go-platform

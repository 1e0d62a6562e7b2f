package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestRunVersion(t *testing.T) {
	for _, arg := range []string{"-version", "--version"} {
		var out, errOut bytes.Buffer
		if code := run([]string{arg}, &out, &errOut); code != 0 {
			t.Fatalf("%s: exit code %d, stderr %q", arg, code, errOut.String())
		}
		want := "Version:    dev\nBuild Date: unknown\nGit Commit: unknown\n"
		if out.String() != want {
			t.Fatalf("%s: got %q, want %q", arg, out.String(), want)
		}
	}
}

func TestRunHealthcheck(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/custom-health" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer ts.Close()
	u, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PORT", u.Port())

	t.Setenv("HEALTH_PATH", "/custom-health")
	var out, errOut bytes.Buffer
	if code := run([]string{"-healthcheck"}, &out, &errOut); code != 0 {
		t.Fatalf("healthy: exit code %d, stderr %q", code, errOut.String())
	}

	t.Setenv("HEALTH_PATH", "/other")
	errOut.Reset()
	if code := run([]string{"-healthcheck"}, &out, &errOut); code != 1 {
		t.Fatalf("unhealthy: exit code %d, want 1", code)
	}
	if errOut.Len() == 0 {
		t.Fatal("unhealthy: expected a message on stderr")
	}
}

func TestRunBadFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-nope"}, &out, &errOut); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
}

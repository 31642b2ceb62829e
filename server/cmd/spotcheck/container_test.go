package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestContainerFiles checks the container build against the module: the Go
// image is the go.mod version, the build context leaves out local data and
// keys, and the app service has a healthcheck the image can run.
func TestContainerFiles(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(read("go.mod"))
	if goVersion == nil {
		t.Fatal("go.mod has no go line")
	}
	image := regexp.MustCompile(`(?m)^FROM golang:(\S+?)(-\S+)? AS build$`).FindStringSubmatch(read("Dockerfile"))
	if image == nil || image[1] != goVersion[1] {
		t.Errorf("Dockerfile builds with golang:%v, go.mod says go %s", image, goVersion[1])
	}
	ignore := strings.Fields(read(".dockerignore"))
	for _, want := range []string{".git", "**/spotcheck-data", "*.tar.gz", "**/testdata"} {
		found := false
		for _, l := range ignore {
			found = found || l == want
		}
		if !found {
			t.Errorf(".dockerignore does not list %s", want)
		}
	}
	compose := read("docker-compose.yml")
	app := compose[strings.Index(compose, "\n  spotcheck:"):]
	if !strings.Contains(app, "healthcheck:") || !strings.Contains(app, `"spotcheck", "healthcheck"`) {
		t.Errorf("docker-compose.yml: the spotcheck service has no healthcheck running spotcheck healthcheck")
	}
}

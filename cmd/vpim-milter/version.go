package main

import (
	"runtime/debug"
	"strings"
)

// versionString describes the build: module version and VCS revision.
func versionString() string {
	v := "vpim-milter (devel)"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = "vpim-milter " + bi.Main.Version
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " " + rev[:min(12, len(rev))] + modified
	}
	return strings.TrimSpace(v + " " + bi.GoVersion)
}

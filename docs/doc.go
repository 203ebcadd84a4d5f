// Package docs holds the user documentation. filters.md and api.md are
// generated from the filter registry and the script API docs kept beside the
// code; TestGeneratedDocs fails when they are stale. Regenerate with
//
//	go generate ./docs
package docs

//go:generate go test -run TestGeneratedDocs -update .

package main

import (
	"errors"
	"io"

	"dialroom/config"
)

// cmdServe runs the server with cfg until it is told to stop. The lead
// replaces this placeholder.
func cmdServe(cfg config.Config, stdout, stderr io.Writer) error {
	return errors.New("serve: not implemented yet")
}

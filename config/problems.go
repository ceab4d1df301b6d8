package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// CheckFile reads the YAML file at path and returns every problem found,
// each naming its key ("sip.rtp_port_min: ...") or, for a YAML error, its
// line. It stops after the YAML errors, since the keys cannot be checked
// then. nil means the file is valid. "dialroom check-config" prints them.
func CheckFile(path string) []error {
	b, err := os.ReadFile(path)
	if err != nil {
		return []error{fmt.Errorf("config: %w", err)}
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var errs []error
			for _, e := range te.Errors {
				errs = append(errs, errors.New(e))
			}
			return errs
		}
		return []error{err}
	}
	c.fillDefaults()
	var errs []error
	for _, check := range c.checks() {
		if err := check(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

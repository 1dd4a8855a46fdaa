package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"countycare/settle"
)

func cmdSettle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("settle", "Settle one bill offline and print every layer's result as JSON: the insurance office's\n"+
		"dry run for checking a policy year against known cases. Nothing is written.\n"+
		"--policy takes a policy file, or builtin:NAME for a shipped example ("+strings.Join(settle.ExampleNames(), ", ")+").\n"+
		"The bill is a JSON claim (amounts in yuan, e.g. \"1234.50\"); the accumulators, if given, are the\n"+
		"patient's year-to-date totals as printed in a previous result's \"after\".", stderr)
	policyPath := fs.String("policy", "", "policy file (required)")
	billPath := fs.String("bill", "", "bill (claim) file, - for stdin (required)")
	accPath := fs.String("accumulators", "", "year-to-date accumulators file (default: none, a new year)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *policyPath == "" || *billPath == "" {
		fs.Usage()
		return &exitError{2, "--policy and --bill are required"}
	}
	var pb []byte
	var err error
	if name, ok := strings.CutPrefix(*policyPath, "builtin:"); ok {
		pb, err = settle.ExampleFile(name)
		if err != nil {
			return &exitError{2, fmt.Sprintf("--policy builtin:%s: no such built-in policy; the built-in policies are %s", name, strings.Join(settle.ExampleNames(), ", "))}
		}
	} else {
		pb, err = os.ReadFile(*policyPath)
	}
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	p, err := settle.ParsePolicy(pb)
	if err != nil {
		return err
	}
	var bb []byte
	if *billPath == "-" {
		bb, err = io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
	} else {
		bb, err = os.ReadFile(*billPath)
	}
	if err != nil {
		return fmt.Errorf("bill: %w", err)
	}
	var c settle.Claim
	if err := strictJSON(bb, &c); err != nil {
		return fmt.Errorf("bill: %w", err)
	}
	var acc settle.Accumulators
	if *accPath != "" {
		ab, err := os.ReadFile(*accPath)
		if err != nil {
			return fmt.Errorf("accumulators: %w", err)
		}
		if err := strictJSON(ab, &acc); err != nil {
			return fmt.Errorf("accumulators: %w", err)
		}
		if acc.Negative() {
			return fmt.Errorf("accumulators: negative totals")
		}
	}
	r, err := settle.Settle(p, &c, &acc)
	if err != nil {
		return err
	}
	out := struct {
		Policy string              `json:"policy"`
		Result *settle.Result      `json:"result"`
		After  settle.Accumulators `json:"after"`
	}{p.Name, r, acc.Add(r.Delta, 1)}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

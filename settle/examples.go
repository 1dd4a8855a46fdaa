package settle

import (
	"embed"
	"sort"
	"strings"
)

//go:embed policies/*.json policies/*.json.txt
var examples embed.FS

// ExamplePolicies returns the policy files shipped with countycare, by
// file name: example-2026.json (the worked examples of policy-rules.md §5)
// and 985-2026.json (a "985" county with supplementary insurance and the
// bottom line).
func ExamplePolicies() (map[string]*Policy, error) {
	entries, err := examples.ReadDir("policies")
	if err != nil {
		return nil, err
	}
	out := map[string]*Policy{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := examples.ReadFile("policies/" + e.Name())
		if err != nil {
			return nil, err
		}
		p, err := ParsePolicy(b)
		if err != nil {
			return nil, err
		}
		out[e.Name()] = p
	}
	return out, nil
}

// ExampleNames lists the shipped policy files.
func ExampleNames() []string {
	entries, _ := examples.ReadDir("policies")
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// ExampleFile returns the bytes of a shipped policy file.
func ExampleFile(name string) ([]byte, error) { return examples.ReadFile("policies/" + name) }

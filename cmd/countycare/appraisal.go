package main

import (
	"fmt"
	"os"

	"countycare/appraisal"
	"countycare/survey"
)

// loadAppraisalRules reads serve --appraisal-config: the county's appraisal
// weights and targets per year (docs/appraisal.md); none gives the shipped
// rules. A file refused names every fault with its field.
func loadAppraisalRules(path string) (*appraisal.Rules, error) {
	if path == "" {
		return appraisal.DefaultRules(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("serve: --appraisal-config: %w", err)
	}
	defer f.Close()
	r, err := appraisal.LoadRules(f)
	if err != nil {
		return nil, fmt.Errorf("serve: --appraisal-config %s: %w", path, err)
	}
	return r, nil
}

// loadSurveyConfig reads serve --survey-config (docs/appraisal.md); none
// gives the shipped survey.
func loadSurveyConfig(path string) (survey.Config, error) {
	if path == "" {
		return survey.DefaultConfig(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return survey.Config{}, fmt.Errorf("serve: --survey-config: %w", err)
	}
	defer f.Close()
	c, err := survey.LoadConfig(f)
	if err != nil {
		return survey.Config{}, fmt.Errorf("serve: --survey-config %s: %w", path, err)
	}
	return c, nil
}

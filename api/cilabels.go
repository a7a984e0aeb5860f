package api

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/dittodb/ditto"
)

// CILabelPrefix starts the keys of the labels that say which CI run a
// copy was made for.
const CILabelPrefix = "ci."

// ciProviders says, for each CI system, the variable that tells it runs
// and the labels its variables give; the first one found wins.
var ciProviders = []struct {
	name, marker string
	labels       map[string]string // label (after the prefix) <- variable
}{
	{"github", "GITHUB_RUN_ID", map[string]string{"repository": "GITHUB_REPOSITORY", "run_id": "GITHUB_RUN_ID", "job": "GITHUB_JOB", "workflow": "GITHUB_WORKFLOW"}},
	{"gitlab", "CI_JOB_ID", map[string]string{"project": "CI_PROJECT_PATH", "pipeline_id": "CI_PIPELINE_ID", "job_id": "CI_JOB_ID", "job": "CI_JOB_NAME"}},
	{"buildkite", "BUILDKITE_JOB_ID", map[string]string{"pipeline": "BUILDKITE_PIPELINE_SLUG", "build_number": "BUILDKITE_BUILD_NUMBER", "job_id": "BUILDKITE_JOB_ID"}},
	{"circleci", "CIRCLE_BUILD_NUM", map[string]string{"project": "CIRCLE_PROJECT_REPONAME", "build_number": "CIRCLE_BUILD_NUM", "job": "CIRCLE_JOB"}},
	{"jenkins", "BUILD_NUMBER", map[string]string{"job": "JOB_NAME", "build_number": "BUILD_NUMBER"}},
}

// CILabels returns the labels that say which CI run the caller is, read
// with getenv (os.Getenv: the CLI's environment, not the daemon's), keys
// under CILabelPrefix: ci.provider and the run's names and numbers. Values
// are cut to ditto.MaxLabelValueLen; those that are no valid label are
// left out. Outside CI it returns none.
func CILabels(getenv func(string) string) map[string]string {
	for _, p := range ciProviders {
		if getenv(p.marker) == "" {
			continue
		}
		out := map[string]string{CILabelPrefix + "provider": p.name}
		for label, variable := range p.labels {
			k, v := CILabelPrefix+label, cut(getenv(variable), ditto.MaxLabelValueLen)
			if v != "" && ditto.ValidateLabels(map[string]string{k: v}) == nil {
				out[k] = v
			}
		}
		return out
	}
	return nil
}

// WithCILabels adds the CI run's labels (CILabels) to the user's: a label
// the user gave wins, and CI labels that would exceed ditto.MaxLabels are
// left out.
func WithCILabels(labels map[string]string, getenv func(string) string) map[string]string {
	ci := CILabels(getenv)
	if len(ci) == 0 {
		return labels
	}
	out := make(map[string]string, len(labels)+len(ci))
	for k, v := range labels {
		out[k] = v
	}
	keys := make([]string, 0, len(ci))
	for k := range ci {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same ones fit every time
	for _, k := range keys {
		if _, given := out[k]; !given && len(out) < ditto.MaxLabels {
			out[k] = ci[k]
		}
	}
	return out
}

// cut shortens s to at most max bytes without splitting a character.
func cut(s string, max int) string {
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s
}

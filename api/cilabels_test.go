package api

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/dittodb/ditto"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestCILabels(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{"no CI", map[string]string{"HOME": "/root"}, nil},
		{"GitHub Actions", map[string]string{"GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "123", "GITHUB_JOB": "test", "GITHUB_WORKFLOW": "CI"},
			map[string]string{"ci.provider": "github", "ci.repository": "acme/shop", "ci.run_id": "123", "ci.job": "test", "ci.workflow": "CI"}},
		{"GitLab CI", map[string]string{"CI_PROJECT_PATH": "acme/shop", "CI_PIPELINE_ID": "9", "CI_JOB_ID": "77", "CI_JOB_NAME": "rspec 1/4"},
			map[string]string{"ci.provider": "gitlab", "ci.project": "acme/shop", "ci.pipeline_id": "9", "ci.job_id": "77", "ci.job": "rspec 1/4"}},
		{"Buildkite", map[string]string{"BUILDKITE_PIPELINE_SLUG": "shop", "BUILDKITE_BUILD_NUMBER": "5", "BUILDKITE_JOB_ID": "0190-ab"},
			map[string]string{"ci.provider": "buildkite", "ci.pipeline": "shop", "ci.build_number": "5", "ci.job_id": "0190-ab"}},
		{"CircleCI", map[string]string{"CIRCLE_PROJECT_REPONAME": "shop", "CIRCLE_BUILD_NUM": "8", "CIRCLE_JOB": "build"},
			map[string]string{"ci.provider": "circleci", "ci.project": "shop", "ci.build_number": "8", "ci.job": "build"}},
		{"Jenkins", map[string]string{"JOB_NAME": "shop/main", "BUILD_NUMBER": "31"},
			map[string]string{"ci.provider": "jenkins", "ci.job": "shop/main", "ci.build_number": "31"}},
		{"a variable that is no valid label value is left out, a long one cut",
			map[string]string{"GITHUB_RUN_ID": "1", "GITHUB_JOB": "a\nb", "GITHUB_WORKFLOW": strings.Repeat("é", 200)},
			map[string]string{"ci.provider": "github", "ci.run_id": "1", "ci.workflow": strings.Repeat("é", 128)}},
	} {
		got := CILabels(env(c.env))
		if !maps.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		if err := ditto.ValidateLabels(got); err != nil {
			t.Errorf("%s: invalid labels: %v", c.name, err)
		}
	}
}

// The user's labels win over the CI run's, and the CI labels never take a
// copy past the label limit.
func TestWithCILabels(t *testing.T) {
	gh := env(map[string]string{"GITHUB_RUN_ID": "123", "GITHUB_JOB": "test"})
	got := WithCILabels(map[string]string{"ci.job": "mine", "team": "a"}, gh)
	want := map[string]string{"ci.job": "mine", "team": "a", "ci.provider": "github", "ci.run_id": "123"}
	if !maps.Equal(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
	if got := WithCILabels(nil, env(nil)); got != nil {
		t.Fatalf("outside CI: %v, want the user's labels (none)", got)
	}
	many := map[string]string{}
	for i := range ditto.MaxLabels - 1 {
		many[fmt.Sprint("k", i)] = "v"
	}
	got = WithCILabels(many, gh)
	if len(got) != ditto.MaxLabels || ditto.ValidateLabels(got) != nil {
		t.Fatalf("%d labels, want %d", len(got), ditto.MaxLabels)
	}
	if len(many) != ditto.MaxLabels-1 {
		t.Fatal("the user's labels were changed in place")
	}
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestSDKs: the pytest plugin, the Node helper and the CI steps, run by an unprivileged
// user against a real daemon, give each test a copy of its own (a suite
// whose tests write the same row passes; on one shared copy it fails),
// label copies with the test's name, keep a failed test's copy when asked,
// and leave nothing behind.
func TestSDKs(t *testing.T) {
	f := goldenFixture(t)
	allowTraverse(t, filepath.Dir(dittoBin))
	group, gid := newGroup(t)
	u := newUser(t, "dts"+strconv.Itoa(os.Getpid()%100000), map[string]uint32{group: gid})
	d := f.startDaemon(t, group)
	repo := copySDK(t)
	sdk := filepath.Join(repo, "sdk")

	// run runs a test suite as u in dir; extra are K=V environment entries
	run := func(t *testing.T, dir string, extra []string, name string, args ...string) result {
		t.Helper()
		cmd := d.program(&u, name, args...)
		cmd.Dir = dir
		cmd.Env = append(cmd.Env, extra...)
		return runDitto(t, cmd)
	}
	noCopiesLeft := func(t *testing.T) {
		t.Helper()
		if cs := d.listAs(t, &u); len(cs) != 0 {
			t.Fatalf("the suite left copies behind: %+v", cs)
		}
	}
	keptCopy := regexp.MustCompile(`ditto: kept copy ([a-z0-9]+) of failed .*fail`)
	checkKept := func(t *testing.T, r result, out string) {
		t.Helper()
		m := keptCopy.FindStringSubmatch(out)
		if r.code == 0 || m == nil {
			t.Fatalf("a failing test with keep on failure: want a failure and the kept copy's ID: %s", r)
		}
		cs := d.listAs(t, &u)
		if len(cs) != 1 || cs[0].ID != m[1] || !strings.Contains(cs[0].Labels["test"], "fail") {
			t.Fatalf("want only the failed test's copy %s kept, labelled with its name: %+v", m[1], cs)
		}
		d.mustAs(t, &u, "copy", "destroy", m[1])
	}

	t.Run("pytest", func(t *testing.T) {
		python := "/usr/bin/python3" // Debian's, with python3-pytest and python3-psycopg
		suite := filepath.Join(sdk, "python", "tests", "suite")
		env := []string{"PYTHONPATH=" + filepath.Join(sdk, "python"), "PYTHONDONTWRITEBYTECODE=1"}
		pytest := []string{"-m", "pytest", "-p", "pytest_ditto.plugin", "-p", "no:cacheprovider", "-q", "-rs"}
		if r := run(t, suite, env, python, append(pytest, "../test_client.py", ".")...); r.code != 0 || !strings.Contains(r.stdout, "7 passed, 1 skipped") {
			t.Fatalf("pytest with a copy per test: %s", r)
		}
		noCopiesLeft(t)
		r := run(t, suite, append(env, "DITTO_TEST_SHARED=1"), python, pytest...)
		if r.code == 0 || !strings.Contains(r.stdout, "DuplicateTable") {
			t.Fatalf("pytest on one shared copy: want the conflicting rows to fail: %s", r)
		}
		noCopiesLeft(t)
		r = run(t, suite, append(env, "DITTO_TEST_FAIL=1"), python, append(pytest, "--ditto-keep-on-failure", "-k", "fails_on_purpose")...)
		checkKept(t, r, r.stdout)
		r = run(t, suite, append(env, "DITTO_SERVER=unix:///nonexistent/ditto.sock"), python, append(pytest, "--ditto-missing=skip", "-k", "first")...)
		if r.code != 0 || !strings.Contains(r.stdout, "no ditto daemon listens on") || !strings.Contains(r.stdout, "1 skipped") {
			t.Fatalf("pytest --ditto-missing=skip without a daemon: want the test skipped with the reason: %s", r)
		}
		r = run(t, suite, append(env, "DITTO_SERVER=unix:///nonexistent/ditto.sock"), python, append(pytest, "-k", "first")...)
		if r.code == 0 || !strings.Contains(r.stdout, "no ditto daemon listens on") || !strings.Contains(r.stdout, "hint:") {
			t.Fatalf("pytest without a daemon: want the test failed with the reason and the hint: %s", r)
		}
	})

	t.Run("node", func(t *testing.T) {
		js := filepath.Join(sdk, "js")
		// the Postgres client of the test suite only; the helper itself has no dependency
		if out, err := exec.Command("npm", "install", "--prefix", js, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "pg@8").CombinedOutput(); err != nil {
			t.Fatalf("npm install pg: %v\n%s", err, out)
		}
		nodeTest := []string{"--test", "--test-reporter=tap", "test/"}
		if r := run(t, js, nil, "node", nodeTest...); r.code != 0 || !strings.Contains(r.stdout, "# pass 7") {
			t.Fatalf("node --test with a copy per test: %s", r)
		}
		noCopiesLeft(t)
		r := run(t, js, []string{"DITTO_TEST_SHARED=1"}, "node", nodeTest...)
		if r.code == 0 || !strings.Contains(r.stdout, "already exists") {
			t.Fatalf("node --test on one shared copy: want the conflicting rows to fail: %s", r)
		}
		noCopiesLeft(t)
		r = run(t, js, []string{"DITTO_TEST_FAIL=1", "DITTO_KEEP_ON_FAILURE=1"}, "node", "--test", "--test-reporter=tap", "--test-name-pattern=fails", "test/suite/")
		checkKept(t, r, r.stderr+r.stdout)
	})

	t.Run("ci steps", func(t *testing.T) { ciSteps(t, d, &u, repo) })
}

// ciSteps runs the shell steps of the GitHub actions and the GitLab include
// as their runners would (their text read from the YAML files), as u.
func ciSteps(t *testing.T, d *daemonProc, u *osUser, repo string) {
	t.Helper()
	work := filepath.Join(filepath.Dir(shortTempDir(t)), "job")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(work, int(u.uid), int(u.gid)); err != nil {
		t.Fatal(err)
	}
	step := func(t *testing.T, script string, env ...string) result {
		t.Helper()
		cmd := d.program(u, "bash", "-euo", "pipefail", "-c", script)
		cmd.Dir = work
		cmd.Env = append(cmd.Env, append(env, "DITTO="+dittoBin)...)
		return runDitto(t, cmd)
	}
	mustStep := func(t *testing.T, script string, env ...string) string {
		t.Helper()
		r := step(t, script, env...)
		if r.code != 0 {
			t.Fatalf("step %q: %s", script, r)
		}
		return r.stdout
	}

	t.Run("github", func(t *testing.T) {
		githubEnv := filepath.Join(work, "github_env")
		env := []string{"GITHUB_ENV=" + githubEnv, "DITTO_LABELS=team=a", "DITTO_TTL=10m"}
		out := mustStep(t, yamlRun(t, filepath.Join(repo, "ci/github/create/action.yml")),
			append(env, "GITHUB_ACTION_PATH="+filepath.Join(repo, "ci/github/create"))...)
		exported, _ := os.ReadFile(githubEnv)
		url := regexp.MustCompile(`(?m)^DATABASE_URL=(\S+)$`).FindSubmatch(exported)
		if url == nil || !strings.Contains(out, "::add-mask::"+string(url[1])) {
			t.Fatalf("the create step: want DATABASE_URL in $GITHUB_ENV and masked in the log:\n%s\n%s", exported, out)
		}
		mustPsql(t, string(url[1]), "select 1")
		if cs := d.listAs(t, u); len(cs) != 1 || cs[0].Labels["team"] != "a" {
			t.Fatalf("want the step's copy, labelled: %+v", cs)
		}
		mustStep(t, yamlRun(t, filepath.Join(repo, "ci/github/destroy/action.yml")), "GITHUB_ACTION_PATH="+filepath.Join(repo, "ci/github/destroy"))
		if cs := d.listAs(t, u); len(cs) != 0 {
			t.Fatalf("the destroy step left %+v", cs)
		}
	})

	t.Run("gitlab", func(t *testing.T) {
		var include map[string]struct {
			Before []string `yaml:"before_script"`
			After  []string `yaml:"after_script"`
		}
		readYAML(t, filepath.Join(repo, "ci/gitlab/ditto.yml"), &include)
		job := include[".ditto"]
		script := filepath.Join(repo, "ci/ditto-ci.sh")
		// GitLab runs before_script and script in one shell, after_script in another
		out := mustStep(t, strings.Join(append(job.Before, `psql "$DATABASE_URL" -X -At -c 'select count(*) from customer'`), "\n"), "DITTO_CI_SCRIPT="+script)
		if strings.TrimSpace(out) != "10000" {
			t.Fatalf("the job's script with the include's before_script: got %q, want 10000 rows", out)
		}
		if r := step(t, strings.Join(job.After, "\n"), "DITTO_CI_SCRIPT="+script); r.code != 0 || len(d.listAs(t, u)) != 0 {
			t.Fatalf("after_script: want the copy destroyed: %s", r)
		}
	})
}

// yamlRun returns the run: text of a composite action's only step.
func yamlRun(t *testing.T, path string) string {
	t.Helper()
	var action struct {
		Runs struct {
			Steps []struct{ Run string }
		}
	}
	readYAML(t, path, &action)
	if len(action.Runs.Steps) != 1 {
		t.Fatalf("%s: want one step, got %d", path, len(action.Runs.Steps))
	}
	return action.Runs.Steps[0].Run
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// copySDK copies the repository's sdk and ci folders where the test's user can
// read it (a clone may sit in a folder only root can enter).
func copySDK(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(shortTempDir(t)), "repo")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"sdk", "ci"} {
		if out, err := exec.Command("cp", "-r", filepath.Join("../..", sub), dir).CombinedOutput(); err != nil {
			t.Fatalf("copying %s: %v %s", sub, err, out)
		}
	}
	if out, err := exec.Command("chmod", "-R", "a+rX", dir).CombinedOutput(); err != nil {
		t.Fatalf("chmod: %v %s", err, out)
	}
	return dir
}

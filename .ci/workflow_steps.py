"""Runs a GitHub Actions workflow's job here, step by step, the way a runner would: `run:` steps in
bash (`bash --noprofile --norc -eo pipefail`), `if:` conditions and `${{ }}` expressions
evaluated, $GITHUB_OUTPUT / $GITHUB_ENV / $GITHUB_STEP_SUMMARY honoured, the job failing when a
step fails. Only what needs GitHub itself is stubbed (see STUBS): checkout (the workspace is this
repository), toolchain set-up actions (the toolchain is on PATH), artifact upload (copied under
STUB_DIR/artifacts/<name>), gh-pages publishing (copied to STUB_DIR/pages) and the `gh` CLI (a
script on PATH that serves STUB_DIR/artifacts).

    python3 workflow_steps.py WORKFLOW.yml JOB STUB_DIR [--event schedule]
    python3 workflow_steps.py --check WORKFLOW.yml JOB     parse, list the steps, check every
                                                           action has a stub; run nothing

Exit status: 0 when the job succeeded, 1 when it failed, 2 on a workflow this runner cannot run.
Called by .ci/workflow-steps.sh, which sets up the user, Docker and toolchain first.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml


class Context(dict):
    """A context object (`github`, `steps.x.outputs`, …): missing keys read as '' like null."""

    def __getattr__(self, name):
        value = self.get(name, "")
        return Context(value) if isinstance(value, dict) else value


EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def to_python(expr):
    """GitHub's expression syntax, as far as these workflows use it, rewritten as Python. String
    literals ('…') are kept as they are; only the code between them is rewritten."""
    parts = re.split(r"('(?:[^']|'')*')", expr)
    for i in range(0, len(parts), 2):
        code = parts[i].replace("&&", " and ").replace("||", " or ")
        code = re.sub(r"!(?!=)", " not ", code)
        code = re.sub(r"\btrue\b", "True", code)
        code = re.sub(r"\bfalse\b", "False", code)
        parts[i] = re.sub(r"\bnull\b", "None", code)
    return "".join(parts).strip()


class Job:
    def __init__(self, workflow, job_name, stub_dir, event):
        self.workflow = workflow
        self.job = workflow["jobs"][job_name]
        self.stub_dir = stub_dir
        self.steps = {}
        self.failed = False
        self.env = {}
        self.env_file_vars = {}
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        self.github = {
            "event_name": event,
            "repository": "local/rtbench",
            "ref_name": "main",
            "ref": "refs/heads/main",
            "sha": sha or "0" * 40,
            "token": "stub-token",
            "workspace": os.getcwd(),
        }

    def namespace(self):
        return {
            "github": Context(self.github),
            "inputs": Context({}),
            "vars": Context({}),
            "secrets": Context({"GITHUB_TOKEN": "stub-token"}),
            "env": Context(self.env),
            "steps": Context({k: v for k, v in self.steps.items()}),
            "runner": Context({"os": "Linux", "temp": tempfile.gettempdir()}),
            "always": lambda: True,
            "success": lambda: not self.failed,
            "failure": lambda: self.failed,
            "cancelled": lambda: False,
        }

    def evaluate(self, expr):
        return eval(to_python(expr), {"__builtins__": {}}, self.namespace())  # noqa: S307

    def interpolate(self, value):
        if not isinstance(value, str):
            return value

        def one(match):
            result = self.evaluate(match.group(1))
            if result is True:
                return "true"
            if result is False:
                return "false"
            return "" if result is None else str(result)

        return EXPR.sub(one, value)

    def condition(self, expr):
        if expr is None:
            return not self.failed
        expr = expr.strip()
        m = EXPR.fullmatch(expr)
        if m:
            expr = m.group(1)
        # GitHub adds success() to a condition that calls no status function.
        if not re.search(r"\b(always|success|failure|cancelled)\(\)", expr):
            expr = f"success() && ({expr})"
        return bool(self.evaluate(expr))

    def run(self):
        for key, value in (self.workflow.get("env") or {}).items():
            self.env[key] = str(self.interpolate(value))
        for key, value in (self.job.get("env") or {}).items():
            self.env[key] = str(self.interpolate(value))
        for index, step in enumerate(self.job["steps"]):
            name = step.get("name") or step.get("uses") or step.get("run", "").splitlines()[0]
            step_id = step.get("id") or f"__{index}"
            if not self.condition(step.get("if")):
                print(f"--- skip: {name}", flush=True)
                self.steps[step_id] = {"outcome": "skipped", "conclusion": "skipped", "outputs": {}}
                continue
            print(f"--- step: {name}", flush=True)
            ok, outputs = self.run_step(step)
            outcome = "success" if ok else "failure"
            print(f"--- {outcome}: {name}", flush=True)
            self.steps[step_id] = {"outcome": outcome, "conclusion": outcome, "outputs": outputs}
            if not ok and not step.get("continue-on-error"):
                self.failed = True
        return not self.failed

    def step_env(self, step):
        env = dict(os.environ)
        env.update(self.env)
        env.update(self.env_file_vars)
        for key, value in (step.get("env") or {}).items():
            env[key] = str(self.interpolate(value))
        env.update(
            {
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_REPOSITORY": self.github["repository"],
                "GITHUB_REF_NAME": self.github["ref_name"],
                "GITHUB_SHA": self.github["sha"],
                "GITHUB_WORKSPACE": self.github["workspace"],
                "GITHUB_EVENT_NAME": self.github["event_name"],
                "GITHUB_STEP_SUMMARY": os.path.join(self.stub_dir, "step-summary.md"),
                "PATH": os.path.join(self.stub_dir, "bin") + os.pathsep + env.get("PATH", ""),
                "STUB_DIR": self.stub_dir,
            }
        )
        return env

    def run_step(self, step):
        if "uses" in step:
            return self.stub(step)
        script = self.interpolate(step["run"])
        env = self.step_env(step)
        with tempfile.TemporaryDirectory() as tmp:
            out_file, env_file = os.path.join(tmp, "output"), os.path.join(tmp, "env")
            open(out_file, "w").close()
            open(env_file, "w").close()
            env["GITHUB_OUTPUT"], env["GITHUB_ENV"] = out_file, env_file
            script_file = os.path.join(tmp, "step.sh")
            with open(script_file, "w") as f:
                f.write(script)
            code = subprocess.call(["bash", "--noprofile", "--norc", "-eo", "pipefail", script_file], env=env)
            outputs = read_key_values(out_file)
            self.env_file_vars.update(read_key_values(env_file))
        if code != 0:
            print(f"    exit {code}", flush=True)
        return code == 0, outputs

    def stub(self, step):
        action = step["uses"].split("@")[0]
        with_ = {k: self.interpolate(v) for k, v in (step.get("with") or {}).items()}
        if action in STUBS_NOOP:
            print(f"    stub: {action} (provided by the machine)", flush=True)
            return True, {}
        if action == "actions/upload-artifact":
            dest = os.path.join(self.stub_dir, "artifacts", with_["name"])
            shutil.rmtree(dest, ignore_errors=True)
            os.makedirs(dest)
            paths = [p.strip() for p in str(with_["path"]).splitlines() if p.strip()]
            found = [p for p in paths if os.path.exists(p)]
            for p in found:
                if os.path.isdir(p) and len(paths) == 1:
                    shutil.copytree(p, dest, dirs_exist_ok=True)
                elif os.path.isdir(p):
                    shutil.copytree(p, os.path.join(dest, os.path.basename(p.rstrip("/"))), dirs_exist_ok=True)
                else:
                    shutil.copy(p, dest)
            print(f"    stub: uploaded {found} as artifact {with_['name']}", flush=True)
            if not found and with_.get("if-no-files-found") == "error":
                return False, {}
            return True, {}
        if action == "peaceiris/actions-gh-pages":
            dest = os.path.join(self.stub_dir, "pages")
            os.makedirs(dest, exist_ok=True)
            shutil.copytree(with_["publish_dir"], dest, dirs_exist_ok=True)
            print(f"    stub: published {with_['publish_dir']} to {dest}", flush=True)
            return True, {}
        print(f"    no stub for action {action}", file=sys.stderr)
        return False, {}


STUBS_NOOP = {
    "actions/checkout",
    "dtolnay/rust-toolchain",
    "Swatinem/rust-cache",
    "actions/setup-go",
}


def read_key_values(path):
    """KEY=VALUE lines and KEY<<DELIM … DELIM blocks, as GitHub reads them."""
    values = {}
    lines = open(path).read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            body = []
            i += 1
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            values[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
        i += 1
    return values


def main():
    args = sys.argv[1:]
    check_only = bool(args) and args[0] == "--check"
    if check_only:
        args = args[1:] + ["-"]
    event = "schedule"
    if "--event" in args:
        at = args.index("--event")
        event = args[at + 1]
        del args[at : at + 2]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, job_name, stub_dir = args
    with open(path) as f:
        workflow = yaml.safe_load(f)
    if job_name not in workflow.get("jobs", {}):
        print(f"{path}: no job `{job_name}` (jobs: {', '.join(workflow.get('jobs', {}))})", file=sys.stderr)
        return 2
    unknown = [
        s["uses"]
        for s in workflow["jobs"][job_name]["steps"]
        if "uses" in s
        and s["uses"].split("@")[0]
        not in STUBS_NOOP | {"actions/upload-artifact", "peaceiris/actions-gh-pages"}
    ]
    if unknown:
        print(f"{path}: no stub for {', '.join(unknown)}", file=sys.stderr)
        return 2
    if check_only:
        for step in workflow["jobs"][job_name]["steps"]:
            kind = "uses " + step["uses"] if "uses" in step else "run"
            print(f"{path}: {step.get('name', '(unnamed)')}: {kind}")
        return 0
    ok = Job(workflow, job_name, os.path.abspath(stub_dir), event).run()
    print(f"=== job {job_name} of {path}: {'success' if ok else 'failure'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

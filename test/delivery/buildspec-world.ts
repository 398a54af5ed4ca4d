/**
 * What the buildspec tests share: a project for the sandbox, the overrides a push build carries,
 * a build of a given commit, a hand edit in the GitOps repository, and what main holds there.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { runBuild, type Sandbox } from "./codebuild";
import { imageRepositoryName } from "../../stacks/names";

const run = promisify(execFile);
export const REGISTRY = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
/** The stage's repository, named where the stack names it (one source of truth with the overlay's placeholder). */
export const ECR_REPOSITORY_URI = `${REGISTRY}/${imageRepositoryName("dev")}`;
export const TOKEN = "ghp_stand-in-token-0123456789abcdef";

export function buildspecWorld(sandbox: Sandbox) {
  const project = (extra: Record<string, string> = {}) => ({ ECR_REPOSITORY_URI, GITOPS_REPOSITORY: sandbox.gitopsUrl, ...extra });
  const pushOverrides = (commit = sandbox.sourceCommit) => ({
    SOURCE_COMMIT: commit,
    CODEBUILD_RESOLVED_SOURCE_VERSION: commit,
    SOURCE_BRANCH: "main",
    SOURCE_REF: "refs/heads/main",
    SOURCE_REPOSITORY: "example-org/sample-app",
    TRIGGER: "push",
  });
  return {
    project,
    pushOverrides,
    /** The build of one commit, checked out as CodeBuild checks it out. */
    async buildOf(commit: string, extra: { project?: Record<string, string>; stubs?: Record<string, string> } = {}) {
      await sandbox.checkoutSource(commit);
      return runBuild(sandbox, { project: project(extra.project), overrides: pushOverrides(commit), secrets: { GITOPS_TOKEN: TOKEN }, ...(extra.stubs ? { stubs: extra.stubs } : {}) });
    },
    /** A change someone makes by hand in the GitOps repository and pushes to main. */
    async handEdit(file: string, line: string, message: string): Promise<void> {
      const clone = await sandbox.otherClone();
      await run("sh", ["-c", `echo "${line}" >> ${file} && git -c user.name=ops -c user.email=ops@example.com commit --quiet -am "${message}" && git push --quiet origin HEAD:main`], { cwd: clone });
    },
    async gitopsHead(): Promise<{ subject: string; body: string; sha: string }> {
      const [sha, subject, ...body] = (await sandbox.git(sandbox.dir, "--git-dir", sandbox.gitopsBare, "log", "-1", "--format=%H%n%s%n%b", "main")).split("\n");
      return { sha: sha!, subject: subject!, body: body.join("\n") };
    },
    async overlayOnMain(env = "dev"): Promise<string> {
      return sandbox.git(sandbox.dir, "--git-dir", sandbox.gitopsBare, "show", `main:deploy/overlays/${env}/kustomization.yaml`);
    },
  };
}

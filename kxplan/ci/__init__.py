"""kxplan in CI: the saved plan as a pull-request comment and a job summary.

    from kxplan.ci import GitHubClient, pull_request_from_env, saved_plan_markdown, upsert_comment

    body = saved_plan_markdown(Path("plan.json"))         # offline: no request
    pr = pull_request_from_env(os.environ, number=None)   # GITHUB_REPOSITORY, GITHUB_EVENT_PATH
    with GitHubClient(pr.api_url, token) as github:
        posted = upsert_comment(github, pr, fit_comment(body))

`kxplan ci comment PLANFILE` and `kxplan ci summary PLANFILE` (kxplan.cli.cmd_ci) are the
commands; docs/ci.md is the guide (the GitHub Action, the GitLab template, pre-commit).
"""

from kxplan.ci.body import (
    COMMENT_LIMIT,
    SUMMARY_LIMIT,
    PlanMarkdown,
    fit,
    fit_comment,
    fit_summary,
    saved_plan_markdown,
)
from kxplan.ci.github import (
    DEFAULT_API_URL,
    GitHubClient,
    GitHubError,
    Posted,
    PullRequest,
    pull_request_from_env,
    token_from_env,
    upsert_comment,
)

__all__ = [
    "COMMENT_LIMIT",
    "DEFAULT_API_URL",
    "SUMMARY_LIMIT",
    "GitHubClient",
    "GitHubError",
    "PlanMarkdown",
    "Posted",
    "PullRequest",
    "fit",
    "fit_comment",
    "fit_summary",
    "pull_request_from_env",
    "saved_plan_markdown",
    "token_from_env",
    "upsert_comment",
]

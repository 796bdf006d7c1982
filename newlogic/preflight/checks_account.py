"""Check ``account``: the account is set and accepted, or none is set (and what the plugin then does)."""

from collections.abc import Iterator

from newlogic.preflight.checks_partitions import sbatch_fix
from newlogic.preflight.findings import Context, Finding, said

# The plugin (2.8) ignores slurm-no-account: with no slurm_account it always guesses one with sacctmgr
# and logs these warnings; the workflow hook silences them where the profile asks for no account.
ACCOUNT_GUESS_WARNINGS = ("No SLURM account given, trying to guess", "Guessed SLURM account",
                          "Unable to guess SLURM account", "No account was given, not able to get a SLURM account")


def check_account(context: Context) -> Iterator[Finding]:
    """The account is set and accepted (by the test submissions of ``check_partitions``), or none is set."""
    accounts = sorted({str(r["slurm_account"]) for r in context.settings.jobs.values() if r.get("slurm_account")})
    if not accounts:
        if context.settings.no_account:
            how = ("the profile sets slurm-no-account (the plugin still asks sacctmgr for one; its "
                   "'No SLURM account given' warnings are hidden)")
        else:
            how = ("the plugin guesses one with sacctmgr and warns 'No SLURM account given, trying to guess'; "
                   "set SBATCH_ACCOUNT to choose")
        yield Finding("account", "ok", f"no account set: {how}; without one Slurm charges your default account")
        return
    refused = [said(answer) for command, answer in context.answers.items()
               if command[:2] == ("sbatch", "--test-only") and answer is not None and answer.returncode != 0
               and "account" in said(answer).lower()]
    if refused:
        yield Finding("account", "blocking", f"account {', '.join(accounts)} refused: {refused[0]}",
                      sbatch_fix("invalid account"))
    else:
        yield Finding("account", "ok", f"account {', '.join(accounts)} accepted by sbatch --test-only")

# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The interactive mode's reading of an answer and its check (tasks/question.yml).

- ``reply | interactive_answer(question)``: the answer a pause reply gives (the default when empty).
- ``answer | interactive_answer_problem(question, reply)``: why it cannot be used ('' when it can).
"""

from __future__ import annotations

from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_rules import deployment_problem

NO_TERMINAL = "no terminal"


def interactive_answer(reply: dict, question: dict) -> str:
    """The answer to an interactive question: what was typed, or the default; a number picks a choice."""
    raw = str(reply.get("user_input") or "").strip() or str(question.get("default", "")).strip()
    choices = question.get("choices") or []
    if choices and raw.isdigit() and 1 <= int(raw) <= len(choices):
        return str(choices[int(raw) - 1])
    return raw


def interactive_answer_problem(answer: str, question: dict, reply: dict) -> str:
    """Why an interactive answer cannot be used ('' when it can; 'no terminal' without one)."""
    if any("stdin is not interactive" in str(w) for w in reply.get("warnings") or []):
        return NO_TERMINAL
    choices = [str(c) for c in question.get("choices") or []]
    if choices and answer not in choices:
        return f"answer with a number from 1 to {len(choices)}"
    words = question.get("answers") or []
    if words and answer.lower() not in words:
        return f"answer {' or '.join(words)}"
    if answer in (question.get("taken") or []):
        return str(question.get("taken_msg", "it is taken"))
    if question.get("check"):
        return deployment_problem(answer, question["check"])
    return ""


class FilterModule:
    def filters(self):
        return {
            "interactive_answer": interactive_answer,
            "interactive_answer_problem": interactive_answer_problem,
        }

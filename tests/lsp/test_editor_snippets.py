"""The README's editor snippets are right: VS Code's settings match the extension's schema, Helix's
languages.toml its keys, and the Neovim and Emacs snippets, run in a headless editor where one is
installed, start `batchsim lsp`, show a broken formula's diagnostic, clear it and format."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
BROKEN = "// c\nx=1;$TargetDedicatedNodes = x +;\n"
FORMATTED = "// c\nx = 1;\n$TargetDedicatedNodes = x + 1;\n"

# The settings zsol.vscode-glspc contributes (package.json "contributes.configuration", commit b1d6fee).
GLSPC_SETTINGS = {
    "type": "object",
    "properties": {
        "files.associations": {"type": "object", "additionalProperties": {"type": "string"}},
        "glspc.server.command": {"type": "string", "minLength": 1},
        "glspc.server.commandArguments": {"type": "array", "items": {"type": "string"}},
        "glspc.server.languageId": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "glspc.server.environmentVariables": {"type": "object", "additionalProperties": {"type": "string"}},
        "glspc.server.initializationOptions": {"type": "object"},
        "glspc.trace.server": {"enum": ["off", "messages", "compact", "verbose"]},
    },
    "required": ["glspc.server.command", "glspc.server.languageId"],
    "additionalProperties": False,
}
# Helix's `[[language]]` keys (book/src/languages.md; `LanguageConfiguration` denies unknown fields
# and requires name, scope and file-types).
HELIX_LANGUAGE_KEYS = {
    "name", "language-id", "scope", "injection-regex", "file-types", "shebangs", "roots", "auto-format",
    "diagnostic-severity", "comment-tokens", "comment-token", "block-comment-tokens", "indent",
    "language-servers", "grammar", "formatter", "soft-wrap", "text-width", "rulers", "path-completion",
    "word-completion", "workspace-lsp-roots", "persistent-diagnostic-sources", "rainbow-brackets",
    "code-actions-on-save", "auto-pairs", "debugger",
}  # fmt: skip
HELIX_SERVER_KEYS = {"command", "args", "environment", "config", "timeout", "required-root-patterns"}


def snippet(editor: str, language: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Editors") :]
    section = section[section.index(f"**{editor}**") :]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} block for {editor} in the README"
    return match.group(1)


def environment() -> dict[str, str]:
    """PATH with this interpreter's scripts first, so that editors find `batchsim`."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_vscode_settings_match_the_extension() -> None:
    settings = json.loads(snippet("VS Code", "json"))
    jsonschema.validate(settings, GLSPC_SETTINGS)
    assert settings["files.associations"]["*.formula"] in settings["glspc.server.languageId"]
    assert [settings["glspc.server.command"], *settings["glspc.server.commandArguments"]] == ["batchsim", "lsp"]


def test_helix_languages_toml_uses_helix_keys() -> None:
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads(snippet("Helix", "toml"))
    (language,) = config["language"]
    assert set(language) <= HELIX_LANGUAGE_KEYS and {"name", "scope", "file-types"} <= set(language)
    assert language["file-types"] == ["formula"]
    for server in language["language-servers"]:
        assert set(config["language-server"][server]) <= HELIX_SERVER_KEYS
        assert [config["language-server"][server]["command"], *config["language-server"][server]["args"]] == [
            "batchsim",
            "lsp",
        ]


NVIM_DRIVER = """
local out = {}
vim.cmd("edit broken.formula")
table.insert(out, "filetype=" .. vim.bo.filetype)
vim.wait(20000, function() return #vim.diagnostic.get(0) > 0 end, 50)
for _, d in ipairs(vim.diagnostic.get(0)) do table.insert(out, "diagnostic " .. d.lnum .. " " .. d.code) end
vim.api.nvim_buf_set_lines(0, 1, 2, false, { "x=1;$TargetDedicatedNodes = x +1;" })
vim.wait(20000, function() return #vim.diagnostic.get(0) == 0 end, 50)
table.insert(out, "after fix " .. #vim.diagnostic.get(0))
vim.lsp.buf.format({ timeout_ms = 10000 })
vim.cmd("write")
vim.fn.writefile(out, "result.txt")
vim.cmd("qa!")
"""


# Lua functions of Neovim newer than 0.7 (`:help news`): `vim.lsp.start` and `vim.fs` came in 0.8,
# `vim.fs.root`, `vim.lsp.get_clients`, `vim.iter` and `vim.system` in 0.10, `vim.lsp.config`/`enable` in 0.11.
NEWER_THAN_NEOVIM_07 = ("vim.lsp.start(", "vim.fs.", "vim.lsp.get_clients", "vim.iter", "vim.system", "vim.lsp.config", "vim.lsp.enable")  # fmt: skip


def test_the_neovim_07_snippet_uses_nothing_newer_than_07() -> None:
    lua = snippet("Neovim 0.7 to 0.9", "lua")
    assert "vim.lsp.start_client(" in lua and "vim.lsp.buf_attach_client(" in lua
    assert [name for name in NEWER_THAN_NEOVIM_07 if name in lua] == []
    assert lua.index("vim.g.do_filetype_lua = 1") < lua.index("vim.filetype.add")  # 0.7: Lua detection is opt-in
    assert "vim.lsp.start(" in snippet("Neovim", "lua")  # the other block is the 0.10 form


@pytest.mark.parametrize(("editor", "oldest"), [("Neovim", (0, 10)), ("Neovim 0.7 to 0.9", (0, 7))])
def test_neovim_snippet_runs_the_server(tmp_path: Path, editor: str, oldest: tuple[int, int]) -> None:
    nvim = shutil.which("nvim")
    if nvim is None:
        pytest.skip("nvim is not installed")
    version = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=30).stdout
    found = re.search(r"NVIM v(\d+)\.(\d+)", version)
    if not found or (int(found.group(1)), int(found.group(2))) < oldest:
        pytest.skip(f"the snippet needs Neovim {oldest[0]}.{oldest[1]} or later: {version.splitlines()[:1]}")
    (tmp_path / "init.lua").write_text(snippet(editor, "lua"))
    (tmp_path / "drive.lua").write_text(NVIM_DRIVER)
    (tmp_path / "broken.formula").write_text(BROKEN)
    subprocess.run(
        [nvim, "--headless", "-u", "init.lua", "-c", "luafile drive.lua"],
        cwd=tmp_path, env=environment(), capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    result = (tmp_path / "result.txt").read_text().splitlines()
    assert result == ["filetype=batchsim-formula", "diagnostic 1 AutoScalingFormulaSyntaxError", "after fix 0"]
    assert (tmp_path / "broken.formula").read_text() == FORMATTED


EMACS_DRIVER = """
(require 'package)
(package-initialize)
(require 'eglot)
(load (expand-file-name "init.el"))
(find-file (expand-file-name "broken.formula"))
;; eglot-ensure starts the server from the command loop, which batch mode does not run.
(run-hooks 'post-command-hook)
(defun wait-for (predicate)
  (let ((deadline (+ (float-time) 30)))
    (while (and (< (float-time) deadline) (not (funcall predicate)))
      (accept-process-output nil 0.1))))
(wait-for (lambda () (flymake-diagnostics)))
(with-temp-file "result.txt"
  (insert (format "mode=%s\\n" (with-current-buffer "broken.formula" major-mode)))
  (dolist (d (with-current-buffer "broken.formula" (flymake-diagnostics)))
    (insert (format "diagnostic %s\\n" (flymake-diagnostic-text d)))))
(goto-char (point-min))
(forward-line 1)
(delete-region (line-beginning-position) (line-end-position))
(insert "x=1;$TargetDedicatedNodes = x +1;")
(wait-for (lambda () (null (flymake-diagnostics))))
(eglot-format-buffer)
(save-buffer)
(kill-emacs 0)
"""


def test_emacs_eglot_snippet_runs_the_server(tmp_path: Path) -> None:
    emacs = shutil.which("emacs")
    if emacs is None:
        pytest.skip("emacs is not installed")
    probe = subprocess.run(
        [emacs, "--batch", "--eval", "(progn (require 'package) (package-initialize) (require 'eglot))"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    if probe.returncode != 0:
        pytest.skip("eglot is not installed")
    (tmp_path / "init.el").write_text(snippet("Emacs", "elisp"))
    (tmp_path / "drive.el").write_text(EMACS_DRIVER)
    (tmp_path / "broken.formula").write_text(BROKEN)
    done = subprocess.run(
        [emacs, "--batch", "-l", "drive.el"], cwd=tmp_path, env=environment(), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    result = (tmp_path / "result.txt").read_text().splitlines()
    assert result[0] == "mode=batchsim-formula-mode", done.stderr
    assert len(result) == 2 and "[AutoScalingFormulaSyntaxError]" in result[1], result
    assert (tmp_path / "broken.formula").read_text() == FORMATTED, done.stderr

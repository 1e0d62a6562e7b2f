"""Reading Dockerfiles: stages, targets, EXPOSE with ARG defaults, HEALTHCHECK, the syntax directive. Pure."""

from __future__ import annotations

import pytest

from sos_images.dockerfile import UNNAMED, DockerfileError, parse
from tests.conftest import REPO

MULTI = """\
# syntax=docker/dockerfile:1.7
ARG BASE=alpine:3.19
FROM ${BASE} AS deps
RUN echo deps

FROM deps AS build
RUN --mount=type=cache,target=/root/.cache \\
    echo build

FROM ${BASE} AS assets
RUN echo assets

FROM ${BASE} AS tools
RUN --mount=type=bind,from=assets,source=/x,target=/x echo tools

FROM build AS development
ARG PORT=5173
EXPOSE ${PORT}

FROM ${BASE} AS web
COPY --from=build /out /srv
ARG PORT=8080
ENV LISTEN=${PORT}
EXPOSE $LISTEN/tcp 9000
HEALTHCHECK --interval=5s CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
"""


def test_targets_are_the_stages_nothing_builds_on_or_copies_from_the_last_is_the_default() -> None:
    df = parse(MULTI)
    assert df.names == ("deps", "build", "assets", "tools", "development", "web")
    assert df.targets == ("tools", "development", "web")  # assets is mounted by tools, build copied by web
    assert df.default_target == "web"


def test_a_copy_from_a_stage_index_counts_as_a_use() -> None:
    df = parse("FROM alpine:3.19\nRUN true\nFROM alpine:3.19 AS final\nCOPY --from=0 /a /a\n")
    assert df.targets == ("final",)


def test_a_copy_from_an_image_is_not_a_stage() -> None:
    df = parse("FROM alpine:3.19 AS a\nFROM alpine:3.19 AS b\nCOPY --from=nginx:1 /etc/nginx /etc/nginx\n")
    assert df.targets == ("a", "b")


def test_a_single_unnamed_stage_is_the_default_target() -> None:
    df = parse("FROM alpine:3.19\nEXPOSE 80\n")
    assert df.targets == (UNNAMED,) and df.names == ()
    assert df.port(UNNAMED) == 80


def test_expose_takes_arg_defaults_env_values_and_given_build_args() -> None:
    df = parse(MULTI)
    assert df.port("web") == 8080
    assert df.port("web", {"PORT": "8181"}) == 8181
    assert df.port("development") == 5173
    assert df.port("tools") is None


def test_the_first_port_of_the_ancestors_comes_first() -> None:
    df = parse("FROM alpine:3.19 AS base\nEXPOSE 7000\nFROM base AS app\nEXPOSE 7001\n")
    assert df.port("app") == 7000


def test_a_global_arg_reaches_a_stage_that_declares_it_without_a_value() -> None:
    df = parse("ARG PORT=4000\nFROM alpine:3.19\nARG PORT\nEXPOSE ${PORT:-1}\n")
    assert df.port(UNNAMED) == 4000
    assert parse("ARG PORT=4000\nFROM alpine:3.19\nEXPOSE ${PORT:-4001}\n").port(UNNAMED) == 4001


def test_udp_ports_are_not_a_service_port() -> None:
    assert parse("FROM alpine:3.19\nEXPOSE 53/udp 8053\n").port(UNNAMED) == 8053


def test_healthcheck_is_inherited_the_last_wins_and_none_switches_it_off() -> None:
    df = parse(MULTI)
    assert df.healthcheck("web") == '["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]'
    base = "FROM alpine:3.19 AS base\nHEALTHCHECK CMD true\n"
    assert parse(base + "FROM base AS app\n").healthcheck("app") == "true"
    assert parse(base + "FROM base AS app\nHEALTHCHECK NONE\n").healthcheck("app") is None
    assert parse("FROM alpine:3.19\n").healthcheck(UNNAMED) is None


def test_the_syntax_directive_counts_only_at_the_top() -> None:
    assert parse(MULTI).syntax == "docker/dockerfile:1.7"
    assert parse("FROM alpine:3.19\n# syntax=docker/dockerfile:1\n").syntax is None


def test_comments_continuations_and_heredocs_are_not_instructions() -> None:
    text = (
        "FROM alpine:3.19 AS a\n"
        "RUN <<EOF\nFROM nothing AS fake\nEXPOSE 1\nEOF\n"
        "RUN echo one \\\n  # a comment inside a continuation\n  && echo two\n"
        "EXPOSE 8080\n"
    )
    df = parse(text)
    assert df.names == ("a",)
    assert df.port("a") == 8080


def test_stage_names_are_case_insensitive() -> None:
    df = parse("FROM alpine:3.19 AS Build\nFROM alpine:3.19 AS final\nCOPY --from=BUILD /a /a\n")
    assert df.targets == ("final",)


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "no FROM"), ("RUN true\nFROM alpine:3.19\n", "RUN before the first FROM"), ("FROM a b\n", "malformed")],
)
def test_unreadable_dockerfiles_say_why(text: str, message: str) -> None:
    with pytest.raises(DockerfileError, match=message):
        parse(text)


def test_the_built_in_dockerfiles_targets_are_the_languages_targets() -> None:
    from sos_images.catalog import LANGUAGES

    for language in LANGUAGES.values():
        df = parse((REPO / "dockerfiles" / language.dockerfile).read_text())
        assert set(df.targets) == set(language.targets)
        assert df.default_target == language.default_target
        assert df.port(df.default_target) == language.default_port

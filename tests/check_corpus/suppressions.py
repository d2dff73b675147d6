"""Suppression comments: with a reason they silence one line, without one nothing."""

import structlog

log = structlog.get_logger()


def render(template_name, page):
    log.info(template_name)  # safelog: ignore[SL105] -- template names are module constants
    log.info(
        template_name,  # safelog: ignore[SL105] -- the same, on the reported line
        page_count=page.count,
    )
    log.info(  # safelog: ignore[SL105] -- on the first line of the call
        template_name,
    )
    log.info(template_name)  # safelog: ignore[SL105]  # expect: SL105, SL901
    log.info(template_name)  # safelog: ignore -- no codes  # expect: SL105, SL901
    log.info(template_name)  # safelog: ignore[SL101] -- wrong code  # expect: SL105, SL902
    log.info("render.done")  # safelog: ignore[SL105] -- nothing to suppress  # expect: SL902
    text = "# safelog: ignore[SL105] -- inside a string, not a comment"
    log.info(text)  # ok
    log.info(page.title, status=str(page))  # safelog: ignore[SL105,SL201] -- reviewed  # ok
    log.info(page.title, status=str(page))  # safelog: ignore[SL105] -- partial  # expect: SL201

"""No [tool.safelog] table above this file: field names are not checked."""

import structlog

log = structlog.get_logger()
logger = structlog.stdlib.get_logger()


def charge(invoice, card):
    log.info("invoice.charged", invoice_total=invoice.total)  # ok
    log.info("invoice.charged", anything_goes=invoice.currency)  # ok
    logger.info("invoice.charged", extra={"undeclared": invoice.number})  # expect: SL302
    log.info("invoice.charged", card=str(card))  # expect: SL201
    log.info(f"invoice {invoice.number} charged")  # expect: SL101

"""Text the workflows send to customers, as named templates in one reviewable place."""

from __future__ import annotations

from decimal import Decimal

REFUND_SUBJECT = "Your refund for order {order_name}"

REFUND_BODY = """\
Hello {first_name},

We have refunded {amount} {currency} for order {order_name}.
Reason: {reason}

It can take 5-10 business days to appear on your statement.
{restock_line}
Thank you for shopping with us.
"""


def refund_email(
    *,
    first_name: str,
    order_name: str,
    amount: Decimal,
    currency: str,
    reason: str,
    restocked: bool,
) -> tuple[str, str]:
    restock_line = "The returned items have been added back to our stock.\n" if restocked else ""
    subject = REFUND_SUBJECT.format(order_name=order_name)
    body = REFUND_BODY.format(
        first_name=first_name or "there",
        order_name=order_name,
        amount=f"{amount:.2f}",
        currency=currency,
        reason=reason,
        restock_line=restock_line,
    )
    return subject, body

"""The connectors a run's steps may call, bundled so the runtime hands them in."""

from __future__ import annotations

from dataclasses import dataclass

from connectors import MailConnector, ShopConnector


@dataclass(frozen=True)
class Services:
    shop: ShopConnector
    mail: MailConnector

    def close(self) -> None:
        self.shop.close()

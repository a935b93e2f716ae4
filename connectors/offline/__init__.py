"""The deterministic offline model: intent by nearest labelled example, slots by
patterns, replies from templates. It lets every flow run end to end with no API key,
and everything it writes is labelled as templated."""

from connectors.offline.examples import EXAMPLES, Intent
from connectors.offline.model import OfflineModel
from connectors.offline.replies import PREFIX
from connectors.offline.slots import Slots

__all__ = ["EXAMPLES", "PREFIX", "Intent", "OfflineModel", "Slots"]

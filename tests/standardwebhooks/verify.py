"""Verifies one captured webhook delivery with the Standard Webhooks reference library.

Reads {"secret": ..., "headers": {...}, "body": ...} as JSON on stdin. Exits 0 and prints the
event id when the library accepts the delivery, exits 1 and prints why when it refuses it.
"""

import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

delivery = json.load(sys.stdin)
try:
    event = Webhook(delivery["secret"]).verify(delivery["body"], delivery["headers"])
except WebhookVerificationError as refused:
    print(f"refused: {refused}")
    sys.exit(1)
print(event["id"])

"""End-to-end scenario with the generated Python client (scripts/clients), run by
tests/api/clients.rs against a live service holding the demo data:
find an eligible upgrade, dry-run it, perform it, read the reassignment list.

Usage: python scenario.py BASE_URL TOKEN CUSTOMER_ID SUBSCRIPTION_ID
Prints the performed upgrade as JSON; exits non-zero on any surprise.
"""

import json
import sys
import uuid
from uuid import UUID

from subscription_upgrades_client import AuthenticatedClient
from subscription_upgrades_client.api.upgrades import (
    get_upgrade,
    list_upgrade_options,
    perform_upgrade,
)
from subscription_upgrades_client.models import (
    OfferId,
    PageUpgradeOption,
    PerformUpgrade,
    UpgradeResult,
)


def main(base_url: str, token: str, customer: str, subscription: str) -> None:
    client = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)
    customer_id, subscription_id = UUID(customer), UUID(subscription)

    options = list_upgrade_options.sync(
        customer_id=customer_id, subscription_id=subscription_id, client=client
    )
    assert isinstance(options, PageUpgradeOption), options
    eligible = [option for option in options.items if option.eligible]
    refused = [option for option in options.items if not option.eligible]
    assert eligible, "an eligible upgrade"
    assert all(option.failures for option in refused), "every refusal says why"
    # Offer ids are enums in the document: an option's target (a base offer) is an offer id.
    target = OfferId(eligible[0].target_offer_id)

    preview = perform_upgrade.sync_detailed(
        customer_id=customer_id,
        subscription_id=subscription_id,
        client=client,
        body=PerformUpgrade(target_offer_id=target, dry_run=True),
    )
    assert preview.status_code == 200, preview
    assert isinstance(preview.parsed, UpgradeResult) and preview.parsed.dry_run

    performed = perform_upgrade.sync_detailed(
        customer_id=customer_id,
        subscription_id=subscription_id,
        client=client,
        body=PerformUpgrade(target_offer_id=target),
        idempotency_key=str(uuid.uuid4()),
    )
    assert performed.status_code == 201, performed
    result = performed.parsed
    assert isinstance(result, UpgradeResult) and not result.dry_run
    assert result.accounts_requiring_reassignment == preview.parsed.accounts_requiring_reassignment

    recorded = get_upgrade.sync(customer_id=customer_id, upgrade_id=result.upgrade_id, client=client)
    to_reassign = [
        {"email": account.email, "reasons": [reason.code.value for reason in account.reasons]}
        for account in result.accounts_requiring_reassignment
    ]
    print(
        json.dumps(
            {
                "targetOfferId": result.target_offer_id.value,
                "upgradeId": str(result.upgrade_id),
                "recorded": recorded is not None and recorded.id == result.upgrade_id,
                "transferredUsers": result.transferred_users,
                "accountsRequiringReassignment": to_reassign,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:5])

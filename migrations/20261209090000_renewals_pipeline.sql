-- The renewals pipeline (GET /v1/renewals): a partner's live subscriptions in term-end order, one
-- range scan per page.
CREATE INDEX subscriptions_renewals_idx ON subscriptions (partner_id, term_end, id)
    WHERE channel = 'partner' AND status IN ('active', 'suspended');

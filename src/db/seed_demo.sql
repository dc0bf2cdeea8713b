-- Demo data for `subscription-upgrades seed-demo`: two partners, customers in US, IT and IN,
-- subscriptions on every offer, users and license assignments, and the relationships that make
-- every eligibility outcome and every reassignment reason of docs/upgrades.md visible.
-- Fixed ids (so the curl walk-throughs of the README and docs/walkthrough.md work verbatim); every insert skips rows that
-- exist, so running it again changes nothing. Billing periods are the current calendar month of a
-- term that began two months ago.

INSERT INTO partners (id, name) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'Contoso Cloud Partner'),
    ('b0000000-0000-4000-8000-000000000002', 'Fabrikam Reseller')
ON CONFLICT (id) DO NOTHING;

INSERT INTO customers (id, name, market_code) VALUES
    ('c0000000-0000-4000-8000-000000000001', 'Northwind Traders', 'US'),
    ('c0000000-0000-4000-8000-000000000002', 'Fabbrica Rossi S.p.A.', 'IT'),
    ('c0000000-0000-4000-8000-000000000003', 'Tata Demo Pvt Ltd', 'IN'),
    ('c0000000-0000-4000-8000-000000000004', 'Adventure Works', 'US'),
    ('c0000000-0000-4000-8000-000000000005', 'Litware at capacity', 'US'),
    ('c0000000-0000-4000-8000-000000000006', 'Fourth Coffee', 'IT'),
    ('c0000000-0000-4000-8000-000000000007', 'Mumbai Textiles', 'IN'),
    ('c0000000-0000-4000-8000-000000000008', 'Wingtip Toys', 'US')
ON CONFLICT (id) DO NOTHING;

INSERT INTO reseller_relationships (customer_id, partner_id) VALUES
    ('c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001'),
    ('c0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001'),
    ('c0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001'),
    ('c0000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000001'),
    ('c0000000-0000-4000-8000-000000000005', 'a0000000-0000-4000-8000-000000000001'),
    ('c0000000-0000-4000-8000-000000000006', 'b0000000-0000-4000-8000-000000000002'),
    ('c0000000-0000-4000-8000-000000000007', 'b0000000-0000-4000-8000-000000000002'),
    ('c0000000-0000-4000-8000-000000000008', 'a0000000-0000-4000-8000-000000000001')
ON CONFLICT DO NOTHING;

-- Northwind, Adventure Works, Litware, Wingtip Toys and partner B's customers: full admin rights.
-- Fabbrica Rossi: one relationship past its end time and one marked expired (delegated_admin_missing).
-- Tata: rights for the web and mail services only, not the desktop apps (delegated_admin_missing
-- for targets that bring OFFICE_DESKTOP).
INSERT INTO delegated_admin_relationships (customer_id, id, partner_id, status, starts_at, ends_at, all_services) VALUES
    ('c0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'active',  now() - interval '1 year', now() + interval '1 year', true),
    ('c0000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 'active',  now() - interval '2 years', now() - interval '1 month', true),
    ('c0000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 'expired', now() - interval '3 years', now() - interval '2 years', true),
    ('c0000000-0000-4000-8000-000000000003', 'd0000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000001', 'active',  now() - interval '1 year', now() + interval '1 year', false),
    ('c0000000-0000-4000-8000-000000000004', 'd0000000-0000-4000-8000-000000000005', 'a0000000-0000-4000-8000-000000000001', 'active',  now() - interval '1 year', now() + interval '1 year', true),
    ('c0000000-0000-4000-8000-000000000005', 'd0000000-0000-4000-8000-000000000006', 'a0000000-0000-4000-8000-000000000001', 'active',  now() - interval '1 year', now() + interval '1 year', true),
    ('c0000000-0000-4000-8000-000000000006', 'd0000000-0000-4000-8000-000000000007', 'b0000000-0000-4000-8000-000000000002', 'active',  now() - interval '1 year', now() + interval '1 year', true),
    ('c0000000-0000-4000-8000-000000000007', 'd0000000-0000-4000-8000-000000000008', 'b0000000-0000-4000-8000-000000000002', 'active',  now() - interval '1 year', now() + interval '1 year', true),
    ('c0000000-0000-4000-8000-000000000008', 'd0000000-0000-4000-8000-000000000009', 'a0000000-0000-4000-8000-000000000001', 'active',  now() - interval '1 year', now() + interval '1 year', true)
ON CONFLICT DO NOTHING;

INSERT INTO delegated_admin_relationship_services (customer_id, relationship_id, service_code)
SELECT 'c0000000-0000-4000-8000-000000000003', 'd0000000-0000-4000-8000-000000000004', code
FROM unnest(ARRAY['EXCHANGE', 'SHAREPOINT', 'ONEDRIVE', 'TEAMS', 'OFFICE_WEB', 'BOOKINGS']) AS code
ON CONFLICT DO NOTHING;

-- (customer, subscription, offer, channel, seller, seats, status)
INSERT INTO subscriptions (customer_id, id, offer_id, channel, partner_id, quantity, status, billing_cycle,
                           term_start, term_end, current_period_start, current_period_end)
SELECT s.customer_id::uuid, s.id::uuid, s.offer_id, s.channel, s.partner_id::uuid, s.quantity, s.status, s.cycle,
       t.term_start, (t.term_start + interval '12 months')::date,
       CASE s.cycle WHEN 'monthly' THEN t.month ELSE t.term_start END,
       CASE s.cycle WHEN 'monthly' THEN (t.month + interval '1 month')::date
                    ELSE (t.term_start + interval '12 months')::date END
FROM (VALUES
    -- Northwind (US): Business Basic with users (upgrade to E1 removes Bookings, to E3 conflicts with
    -- the Apps for business licenses some users also hold), Apps for business (upgrade_only paths
    -- to E3/E5, and the desktop apps that make Basic -> Standard conflicting_services), E3 (no
    -- upgrade paths), a suspended Premium and a cancelled E1.
    ('c0000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000011', 'm365-business-basic',    'partner', 'a0000000-0000-4000-8000-000000000001', 10, 'active',    'monthly'),
    ('c0000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000012', 'm365-apps-business',     'partner', 'a0000000-0000-4000-8000-000000000001', 5,  'active',    'monthly'),
    ('c0000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000013', 'o365-e3',                'partner', 'a0000000-0000-4000-8000-000000000001', 25, 'active',    'annual'),
    ('c0000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000014', 'm365-business-premium',  'partner', 'a0000000-0000-4000-8000-000000000001', 5,  'suspended', 'monthly'),
    ('c0000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000015', 'o365-e1',                'partner', 'a0000000-0000-4000-8000-000000000001', 5,  'cancelled', 'monthly'),
    -- Fabbrica Rossi (IT): Business Basic with an active add-on (add_ons_present), Business Standard,
    -- a suspended Apps for business (subscription_not_active).
    ('c0000000-0000-4000-8000-000000000002', '50000000-0000-4000-8000-000000000021', 'm365-business-basic',    'partner', 'a0000000-0000-4000-8000-000000000001', 15, 'active',    'monthly'),
    ('c0000000-0000-4000-8000-000000000002', '50000000-0000-4000-8000-000000000022', 'm365-business-standard', 'partner', 'a0000000-0000-4000-8000-000000000001', 10, 'active',    'annual'),
    ('c0000000-0000-4000-8000-000000000002', '50000000-0000-4000-8000-000000000023', 'm365-apps-business',     'partner', 'a0000000-0000-4000-8000-000000000001', 3,  'suspended', 'monthly'),
    -- Tata (IN): the India plans.
    ('c0000000-0000-4000-8000-000000000003', '50000000-0000-4000-8000-000000000031', 'm365-business-basic-india', 'partner', 'a0000000-0000-4000-8000-000000000001', 20, 'active', 'monthly'),
    ('c0000000-0000-4000-8000-000000000003', '50000000-0000-4000-8000-000000000032', 'm365-apps-business-india',  'partner', 'a0000000-0000-4000-8000-000000000001', 10, 'active', 'monthly'),
    -- Adventure Works (US): owns E1 through another channel (target_already_owned), Apps for enterprise.
    ('c0000000-0000-4000-8000-000000000004', '50000000-0000-4000-8000-000000000041', 'm365-business-basic',    'partner', 'a0000000-0000-4000-8000-000000000001', 50, 'active',    'monthly'),
    ('c0000000-0000-4000-8000-000000000004', '50000000-0000-4000-8000-000000000042', 'o365-e1',                'other',   NULL,                                   40, 'active',    'annual'),
    ('c0000000-0000-4000-8000-000000000004', '50000000-0000-4000-8000-000000000043', 'm365-apps-enterprise',   'partner', 'a0000000-0000-4000-8000-000000000001', 10, 'active',    'monthly'),
    -- Litware (US): Business Basic at the 300-seat cap.
    ('c0000000-0000-4000-8000-000000000005', '50000000-0000-4000-8000-000000000051', 'm365-business-basic',    'partner', 'a0000000-0000-4000-8000-000000000001', 300, 'active',   'annual'),
    -- Partner B's customers: Business Standard and E5 in Italy, Business Standard India in India.
    ('c0000000-0000-4000-8000-000000000006', '50000000-0000-4000-8000-000000000061', 'm365-business-standard', 'partner', 'b0000000-0000-4000-8000-000000000002', 5,  'active',    'monthly'),
    ('c0000000-0000-4000-8000-000000000006', '50000000-0000-4000-8000-000000000062', 'o365-e5',                'partner', 'b0000000-0000-4000-8000-000000000002', 5,  'active',    'annual'),
    ('c0000000-0000-4000-8000-000000000007', '50000000-0000-4000-8000-000000000071', 'm365-business-standard-india', 'partner', 'b0000000-0000-4000-8000-000000000002', 8, 'active', 'monthly')
) AS s (customer_id, id, offer_id, channel, partner_id, quantity, status, cycle)
CROSS JOIN LATERAL (
    SELECT (date_trunc('month', current_date) - interval '2 months')::date AS term_start,
           date_trunc('month', current_date)::date AS month
) AS t
ON CONFLICT DO NOTHING;

-- Wingtip Toys (US): a new-commerce Business Standard (P1Y billed monthly, its price locked at
-- 12.50) bought ten days ago with 10 seats, its purchase window closed; 2 seats added two days
-- ago are inside their own 168-hour window for five more days. So 2 of its 12 seats can still be
-- removed for a refund, and no more (the README's walk-through).
INSERT INTO subscriptions (customer_id, id, offer_id, channel, partner_id, quantity, status, billing_cycle,
                           term_start, term_end, current_period_start, current_period_end,
                           commerce, term_duration, unit_price_minor, cancellation_window_ends_at,
                           seat_windows, created_at)
SELECT 'c0000000-0000-4000-8000-000000000008', '50000000-0000-4000-8000-000000000081',
       'm365-business-standard', 'partner', 'a0000000-0000-4000-8000-000000000001', 12, 'active',
       'monthly', t.bought, (t.bought + interval '12 months')::date, t.bought,
       (t.bought + interval '1 month')::date, 'new', 'P1Y', 1250,
       now() - interval '10 days' + interval '168 hours',
       jsonb_build_array(jsonb_build_object('quantity', 2, 'allowedUntil', now() + interval '5 days')),
       now() - interval '10 days'
FROM (SELECT current_date - 10 AS bought) AS t
ON CONFLICT DO NOTHING;

INSERT INTO subscription_add_ons (customer_id, id, subscription_id, offer_id, quantity, status)
VALUES ('c0000000-0000-4000-8000-000000000002', 'ad000000-0000-4000-8000-000000000021',
        '50000000-0000-4000-8000-000000000021', 'teams-audio-conferencing', 15, 'active')
ON CONFLICT DO NOTHING;

INSERT INTO users (customer_id, id, display_name, email)
SELECT u.customer_id::uuid, u.id::uuid, u.display_name, u.email
FROM (VALUES
    ('c0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000101', 'Ada Lovelace',    'ada@northwind.example'),
    ('c0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000102', 'Alan Turing',     'alan@northwind.example'),
    ('c0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000103', 'Grace Hopper',    'grace@northwind.example'),
    ('c0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000104', 'Edsger Dijkstra', 'edsger@northwind.example'),
    ('c0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000105', 'Barbara Liskov',  'barbara@northwind.example'),
    ('c0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000106', 'Donald Knuth',    'donald@northwind.example'),
    ('c0000000-0000-4000-8000-000000000002', 'e0000000-0000-4000-8000-000000000201', 'Giulia Rossi',    'giulia@rossi.example'),
    ('c0000000-0000-4000-8000-000000000002', 'e0000000-0000-4000-8000-000000000202', 'Marco Bianchi',   'marco@rossi.example'),
    ('c0000000-0000-4000-8000-000000000003', 'e0000000-0000-4000-8000-000000000301', 'Priya Sharma',    'priya@tata-demo.example'),
    ('c0000000-0000-4000-8000-000000000003', 'e0000000-0000-4000-8000-000000000302', 'Arjun Mehta',     'arjun@tata-demo.example'),
    ('c0000000-0000-4000-8000-000000000004', 'e0000000-0000-4000-8000-000000000401', 'Kim Abercrombie', 'kim@adventure-works.example'),
    ('c0000000-0000-4000-8000-000000000006', 'e0000000-0000-4000-8000-000000000601', 'Sofia Conti',     'sofia@fourthcoffee.example')
) AS u (customer_id, id, display_name, email)
ON CONFLICT DO NOTHING;

-- Northwind: six users on Business Basic (Alan has Bookings switched off, so losing it is no news
-- to him); Grace and Edsger also hold Apps for business licenses (conflicting_license on targets
-- that bring the desktop apps). Six assigned users also make an upgrade with quantity 4 short of
-- seats (seat_shortage).
INSERT INTO license_assignments (customer_id, subscription_id, user_id, disabled_services)
SELECT a.customer_id::uuid, a.subscription_id::uuid, a.user_id::uuid, a.disabled::text[]
FROM (VALUES
    ('c0000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000011', 'e0000000-0000-4000-8000-000000000101', '{}'),
    ('c0000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000011', 'e0000000-0000-4000-8000-000000000102', '{BOOKINGS}'),
    ('c0000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000011', 'e0000000-0000-4000-8000-000000000103', '{}'),
    ('c0000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000011', 'e0000000-0000-4000-8000-000000000104', '{}'),
    ('c0000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000011', 'e0000000-0000-4000-8000-000000000105', '{}'),
    ('c0000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000011', 'e0000000-0000-4000-8000-000000000106', '{}'),
    ('c0000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000012', 'e0000000-0000-4000-8000-000000000103', '{}'),
    ('c0000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000012', 'e0000000-0000-4000-8000-000000000104', '{}'),
    ('c0000000-0000-4000-8000-000000000002', '50000000-0000-4000-8000-000000000021', 'e0000000-0000-4000-8000-000000000201', '{}'),
    ('c0000000-0000-4000-8000-000000000002', '50000000-0000-4000-8000-000000000022', 'e0000000-0000-4000-8000-000000000202', '{}'),
    ('c0000000-0000-4000-8000-000000000003', '50000000-0000-4000-8000-000000000031', 'e0000000-0000-4000-8000-000000000301', '{}'),
    ('c0000000-0000-4000-8000-000000000003', '50000000-0000-4000-8000-000000000032', 'e0000000-0000-4000-8000-000000000302', '{}'),
    ('c0000000-0000-4000-8000-000000000004', '50000000-0000-4000-8000-000000000041', 'e0000000-0000-4000-8000-000000000401', '{}'),
    ('c0000000-0000-4000-8000-000000000006', '50000000-0000-4000-8000-000000000061', 'e0000000-0000-4000-8000-000000000601', '{}')
) AS a (customer_id, subscription_id, user_id, disabled)
ON CONFLICT DO NOTHING;

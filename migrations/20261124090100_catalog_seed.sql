-- The catalog of SPEC section 2: 11 offers (8 global, 3 India), 2 add-ons, prices in USD, EUR and
-- INR, and the upgrade matrix of the Partner Center article "Add licenses, seats or more services
-- to a customer's subscription" (shared/reference). Service sets follow Microsoft's published plan
-- contents, reduced to the service codes the rules reason about. Prices are list prices per seat per
-- month in minor units (cents, euro cents, paise), rounded; they are sample data for the rules, not
-- a price list. To change the catalog, add a migration: never edit this one once it has shipped.

INSERT INTO markets (code, name, currency, currency_minor_units) VALUES
    ('US', 'United States', 'USD', 2),
    ('IT', 'Italy',         'EUR', 2),
    ('IN', 'India',         'INR', 2);

INSERT INTO services (code, name) VALUES
    ('EXCHANGE',           'Exchange Online'),
    ('EXCHANGE_ARCHIVING', 'Exchange Online Archiving'),
    ('SHAREPOINT',         'SharePoint Online'),
    ('ONEDRIVE',           'OneDrive'),
    ('TEAMS',              'Microsoft Teams'),
    ('BOOKINGS',           'Microsoft Bookings'),
    ('OFFICE_WEB',         'Office for the web'),
    ('OFFICE_DESKTOP',     'Microsoft 365 Apps (desktop)'),
    ('INTUNE',             'Microsoft Intune'),
    ('ENTRA_ID_P1',        'Microsoft Entra ID P1'),
    ('DEFENDER_BUSINESS',  'Microsoft Defender for Business'),
    ('TEAMS_PHONE',        'Teams Phone'),
    ('AUDIO_CONFERENCING', 'Audio Conferencing'),
    ('POWER_BI_PRO',       'Power BI Pro');

INSERT INTO offer_families (id, name, seat_cap) VALUES
    ('m365-business', 'Microsoft 365 Business', 300);

INSERT INTO offers (id, name, kind, family_id, seat_cap, sort_order) VALUES
    ('m365-apps-business',           'Microsoft 365 Apps for business',          'base',   'm365-business', 300, 10),
    ('m365-business-basic',          'Microsoft 365 Business Basic',             'base',   'm365-business', 300, 20),
    ('m365-business-standard',       'Microsoft 365 Business Standard',          'base',   'm365-business', 300, 30),
    ('m365-business-premium',        'Microsoft 365 Business Premium',           'base',   'm365-business', 300, 40),
    ('m365-apps-enterprise',         'Microsoft 365 Apps for enterprise',        'base',   NULL,            NULL, 50),
    ('o365-e1',                      'Office 365 E1',                            'base',   NULL,            NULL, 60),
    ('o365-e3',                      'Office 365 E3',                            'base',   NULL,            NULL, 70),
    ('o365-e5',                      'Office 365 E5',                            'base',   NULL,            NULL, 80),
    ('m365-apps-business-india',     'Microsoft 365 Apps for business India',    'base',   'm365-business', 300, 90),
    ('m365-business-basic-india',    'Microsoft 365 Business Basic India',       'base',   'm365-business', 300, 100),
    ('m365-business-standard-india', 'Microsoft 365 Business Standard India',    'base',   'm365-business', 300, 110),
    ('teams-audio-conferencing',     'Microsoft Teams Audio Conferencing add-on', 'add_on', NULL,           NULL, 200),
    ('exchange-online-archiving',    'Exchange Online Archiving add-on',         'add_on', NULL,            NULL, 210);

-- Apps for business and Apps for enterprise carry the desktop apps without mail; Business Basic is
-- the web/mail plan; each richer plan is a superset of the one below, except that E1 lacks Bookings,
-- which the Business plans include (so Basic -> E1 removes a service from its users).
INSERT INTO offer_services (offer_id, service_code)
SELECT o.offer_id, s.code
FROM (VALUES
    ('m365-apps-business',           ARRAY['OFFICE_DESKTOP', 'OFFICE_WEB', 'ONEDRIVE']),
    ('m365-apps-business-india',     ARRAY['OFFICE_DESKTOP', 'OFFICE_WEB', 'ONEDRIVE']),
    ('m365-apps-enterprise',         ARRAY['OFFICE_DESKTOP', 'OFFICE_WEB', 'ONEDRIVE']),
    ('m365-business-basic',          ARRAY['EXCHANGE', 'SHAREPOINT', 'ONEDRIVE', 'TEAMS', 'OFFICE_WEB', 'BOOKINGS']),
    ('m365-business-basic-india',    ARRAY['EXCHANGE', 'SHAREPOINT', 'ONEDRIVE', 'TEAMS', 'OFFICE_WEB', 'BOOKINGS']),
    ('m365-business-standard',       ARRAY['EXCHANGE', 'SHAREPOINT', 'ONEDRIVE', 'TEAMS', 'OFFICE_WEB', 'BOOKINGS', 'OFFICE_DESKTOP']),
    ('m365-business-standard-india', ARRAY['EXCHANGE', 'SHAREPOINT', 'ONEDRIVE', 'TEAMS', 'OFFICE_WEB', 'BOOKINGS', 'OFFICE_DESKTOP']),
    ('m365-business-premium',        ARRAY['EXCHANGE', 'SHAREPOINT', 'ONEDRIVE', 'TEAMS', 'OFFICE_WEB', 'BOOKINGS', 'OFFICE_DESKTOP',
                                           'EXCHANGE_ARCHIVING', 'INTUNE', 'ENTRA_ID_P1', 'DEFENDER_BUSINESS']),
    ('o365-e1',                      ARRAY['EXCHANGE', 'SHAREPOINT', 'ONEDRIVE', 'TEAMS', 'OFFICE_WEB']),
    ('o365-e3',                      ARRAY['EXCHANGE', 'SHAREPOINT', 'ONEDRIVE', 'TEAMS', 'OFFICE_WEB', 'BOOKINGS', 'OFFICE_DESKTOP',
                                           'EXCHANGE_ARCHIVING']),
    ('o365-e5',                      ARRAY['EXCHANGE', 'SHAREPOINT', 'ONEDRIVE', 'TEAMS', 'OFFICE_WEB', 'BOOKINGS', 'OFFICE_DESKTOP',
                                           'EXCHANGE_ARCHIVING', 'TEAMS_PHONE', 'AUDIO_CONFERENCING', 'POWER_BI_PRO']),
    ('teams-audio-conferencing',     ARRAY['AUDIO_CONFERENCING']),
    ('exchange-online-archiving',    ARRAY['EXCHANGE_ARCHIVING'])
) AS o (offer_id, codes)
CROSS JOIN LATERAL unnest(o.codes) AS s (code);

-- The global Business SKUs are not sold in India and the India SKUs only there; Apps for enterprise,
-- the Office 365 E plans and the add-ons are sold everywhere.
INSERT INTO offer_prices (offer_id, market_code, monthly_unit_price_minor) VALUES
    ('m365-apps-business',           'US',    825), ('m365-apps-business',           'IT',   1030),
    ('m365-business-basic',          'US',    600), ('m365-business-basic',          'IT',    560),
    ('m365-business-standard',       'US',   1250), ('m365-business-standard',       'IT',   1170),
    ('m365-business-premium',        'US',   2200), ('m365-business-premium',        'IT',   2060),
    ('m365-apps-enterprise',         'US',   1200), ('m365-apps-enterprise',         'IT',   1240), ('m365-apps-enterprise', 'IN',  99000),
    ('o365-e1',                      'US',   1000), ('o365-e1',                      'IT',    940), ('o365-e1',              'IN',  75000),
    ('o365-e3',                      'US',   2300), ('o365-e3',                      'IT',   2160), ('o365-e3',              'IN', 190000),
    ('o365-e5',                      'US',   3800), ('o365-e5',                      'IT',   3570), ('o365-e5',              'IN', 310000),
    ('m365-apps-business-india',     'IN',  69000),
    ('m365-business-basic-india',    'IN',  14500),
    ('m365-business-standard-india', 'IN',  77000),
    ('teams-audio-conferencing',     'US',    400), ('teams-audio-conferencing',     'IT',    380), ('teams-audio-conferencing', 'IN', 33000),
    ('exchange-online-archiving',    'US',    300), ('exchange-online-archiving',    'IT',    280), ('exchange-online-archiving', 'IN', 25000);

INSERT INTO add_on_base_offers (add_on_offer_id, base_offer_id)
SELECT a.add_on, b.base
FROM (VALUES
    ('teams-audio-conferencing',  ARRAY['m365-business-basic', 'm365-business-standard', 'm365-business-premium',
                                        'm365-business-basic-india', 'm365-business-standard-india',
                                        'o365-e1', 'o365-e3']),
    ('exchange-online-archiving', ARRAY['m365-business-basic', 'm365-business-standard',
                                        'm365-business-basic-india', 'm365-business-standard-india', 'o365-e1'])
) AS a (add_on, bases)
CROSS JOIN LATERAL unnest(a.bases) AS b (base);

-- The matrix. Marked targets (footnote 1 of the article: Business Premium from Apps for business,
-- Business Standard from Business Basic) are replaced by Business Standard India in the India rows;
-- the India rows keep the unmarked targets of their global row. Paths that stay within the
-- same kind of plan move the users' licenses; the jump from the app-only or web-only Business plans
-- to E5 is a new subscription the partner assigns by hand.
INSERT INTO upgrade_paths (source_offer_id, target_offer_id, upgrade_type) VALUES
    ('m365-apps-business',        'm365-business-premium',        'upgrade_with_license_transfer'),
    ('m365-apps-business',        'm365-apps-enterprise',         'upgrade_with_license_transfer'),
    ('m365-apps-business',        'o365-e3',                      'upgrade_only'),
    ('m365-apps-business',        'o365-e5',                      'upgrade_only'),
    ('m365-business-standard',    'o365-e3',                      'upgrade_with_license_transfer'),
    ('m365-business-standard',    'o365-e5',                      'upgrade_with_license_transfer'),
    ('m365-business-basic',       'm365-business-standard',       'upgrade_with_license_transfer'),
    ('m365-business-basic',       'o365-e1',                      'upgrade_with_license_transfer'),
    ('m365-business-basic',       'o365-e3',                      'upgrade_with_license_transfer'),
    ('m365-business-basic',       'o365-e5',                      'upgrade_only'),
    ('m365-apps-business-india',  'm365-business-standard-india', 'upgrade_with_license_transfer'),
    ('m365-apps-business-india',  'm365-apps-enterprise',         'upgrade_with_license_transfer'),
    ('m365-apps-business-india',  'o365-e3',                      'upgrade_only'),
    ('m365-apps-business-india',  'o365-e5',                      'upgrade_only'),
    ('m365-business-basic-india', 'm365-business-standard-india', 'upgrade_with_license_transfer'),
    ('m365-business-basic-india', 'o365-e1',                      'upgrade_with_license_transfer'),
    ('m365-business-basic-india', 'o365-e3',                      'upgrade_with_license_transfer'),
    ('m365-business-basic-india', 'o365-e5',                      'upgrade_only');

-- NetCollector database schema: network session logs of a home network.
--
-- This file is the single source of truth for the layout. It is executable
-- as-is (`sqlite3 db < schemas/netcollector.sql`), and tools/netcollector-gen
-- embeds it at build time, so the generator always writes exactly this schema.
--
-- A session is one direction of a flow, attributed to the sending device:
-- srcip/srcport belong to that device, dstip/dstport to the peer.

CREATE TABLE IF NOT EXISTS devices (
    deviceid     INTEGER PRIMARY KEY,
    mac          TEXT NOT NULL UNIQUE,   -- aa:bb:cc:dd:ee:ff, OUI of the manufacturer
    ip           TEXT,                   -- LAN address, e.g. 192.168.1.23
    manufacturer TEXT,                   -- vendor of the MAC's OUI
    device_type  TEXT,                   -- 'Other' = not IoT; a model name for IoT; NULL = unlabelled
    hostname     TEXT                    -- as announced over DHCP; may be NULL
);

CREATE TABLE IF NOT EXISTS sessions (
    sessionid INTEGER PRIMARY KEY,
    deviceid  INTEGER NOT NULL REFERENCES devices (deviceid),
    protocol  INTEGER,                   -- IP protocol number (1 ICMP, 6 TCP, 17 UDP)
    srcip     TEXT,
    srcport   INTEGER,                   -- 0 for ICMP
    dstip     TEXT,
    dstport   INTEGER,                   -- 0 for ICMP
    lensum    INTEGER NOT NULL,          -- bytes in the session
    pktcount  INTEGER NOT NULL,          -- packets in the session
    starttime REAL NOT NULL,             -- unix seconds
    endtime   REAL NOT NULL              -- unix seconds; endtime < starttime happens (a collector bug)
);

-- Names asked (DNS / mDNS / LLMNR questions) in that session; most sessions have none.
CREATE TABLE IF NOT EXISTS dns_queries (
    sessionid INTEGER NOT NULL REFERENCES sessions (sessionid),
    qname     TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS idx_dns_queries_sessionid ON dns_queries (sessionid);

-- Sessions joined to the device that sent them.
CREATE VIEW IF NOT EXISTS v_session_mnf_devicetype AS
    SELECT s.sessionid    AS sessionid,
           d.manufacturer AS manufacturer,
           d.device_type  AS device_type
    FROM sessions AS s
    INNER JOIN devices AS d ON d.deviceid = s.deviceid;

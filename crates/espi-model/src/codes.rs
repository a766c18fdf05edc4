//! Code tables of the ESPI schema (`xsd/espi-4.0/espi.xsd`), generated from its
//! enumerations: each function maps a code to the name the schema gives it.
//! Codes outside the schema answer `None`; callers keep the number.

/// Name of a UnitSymbolKind (`uom`): the unit symbol, e.g. 72 -> "Wh".
///
/// ```
/// assert_eq!(espi_model::codes::uom_symbol(169), Some("therm"));
/// ```
pub fn uom_symbol(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "none",
        2 => "m",
        3 => "g",
        4 => "revPerSec",
        5 => "A",
        6 => "K",
        7 => "mol",
        8 => "cd",
        9 => "deg",
        10 => "rad",
        11 => "sr",
        21 => "gy",
        22 => "bq",
        23 => "degC",
        24 => "sv",
        25 => "F",
        27 => "sec",
        28 => "H",
        29 => "V",
        30 => "ohm",
        31 => "J",
        32 => "n",
        33 => "Hz",
        34 => "lx",
        35 => "lm",
        36 => "wb",
        37 => "t",
        38 => "W",
        39 => "pa",
        41 => "m2",
        42 => "m3",
        43 => "mPerSec",
        44 => "mPerSec2",
        45 => "m3PerSec",
        46 => "mPerM3",
        47 => "kgM",
        48 => "kgPerM3",
        49 => "m2PerSec",
        50 => "wPerMK",
        51 => "jPerK",
        53 => "siemens",
        54 => "radPerSec",
        61 => "VA",
        63 => "VAr",
        65 => "cosTheta",
        66 => "Vs",
        67 => "V2",
        68 => "As",
        69 => "A2",
        70 => "A2s",
        71 => "VAh",
        72 => "Wh",
        73 => "VArh",
        74 => "VPerHz",
        75 => "HzPerSec",
        76 => "char",
        77 => "charPerSec",
        78 => "gM2",
        79 => "b",
        80 => "money",
        81 => "WPerSec",
        82 => "litrePerSec",
        100 => "q",
        101 => "qh",
        102 => "ohmM",
        103 => "APerM",
        104 => "V2h",
        105 => "A2h",
        106 => "Ah",
        107 => "WhPerM3",
        108 => "timeStamp",
        109 => "status",
        111 => "count",
        113 => "bm",
        114 => "code",
        115 => "WhPerRev",
        116 => "VArhPerRev",
        117 => "VAhPerRev",
        118 => "meCode",
        119 => "ft3",
        120 => "ft3compensated",
        123 => "ft3compensatedPerH",
        125 => "m3PerH",
        126 => "m3compensatedPerH",
        127 => "m3uncompensatedPerH",
        128 => "usGal",
        129 => "usGalPerH",
        130 => "imperialGal",
        131 => "imperialGalPerH",
        132 => "btu",
        133 => "btuPerH",
        134 => "litre",
        137 => "litrePerH",
        138 => "litreCompensatedPerH",
        139 => "litreUncompensatedPerH",
        140 => "paG",
        141 => "psiA",
        142 => "psiG",
        143 => "litrePerLitre",
        144 => "gPerG",
        145 => "molPerM3",
        146 => "molPerMol",
        147 => "molPerKg",
        148 => "mPerM",
        149 => "secPerSec",
        150 => "HzPerHz",
        151 => "VPerV",
        152 => "APerA",
        153 => "WPerVA",
        154 => "rev",
        155 => "paA",
        156 => "litreUncompensated",
        157 => "litreCompensated",
        158 => "kat",
        159 => "min",
        160 => "h",
        161 => "q45",
        162 => "q60",
        163 => "q45h",
        164 => "q60h",
        165 => "jPerKg",
        166 => "m3uncompensated",
        167 => "m3compensated",
        168 => "WPerW",
        169 => "therm",
        _ => return None,
    })
}

/// Name of a FlowDirectionKind (`flowDirection`), e.g. 1 -> "forward" (delivered), 19 -> "reverse" (received).
///
/// ```
/// assert_eq!(espi_model::codes::flow_direction_name(21), Some("totalByPhase"));
/// ```
pub fn flow_direction_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "none",
        1 => "forward",
        2 => "lagging",
        3 => "leading",
        4 => "net",
        5 => "q1plusQ2",
        7 => "q1plusQ3",
        8 => "q1plusQ4",
        9 => "q1minusQ4",
        10 => "q2plusQ3",
        11 => "q2plusQ4",
        12 => "q2minusQ3",
        13 => "q3plusQ4",
        14 => "q3minusQ2",
        15 => "quadrant1",
        16 => "quadrant2",
        17 => "quadrant3",
        18 => "quadrant4",
        19 => "reverse",
        20 => "total",
        21 => "totalByPhase",
        _ => return None,
    })
}

/// Name of a AccumulationKind (`accumulationBehaviour`), e.g. 4 -> "deltaData".
///
/// ```
/// assert_eq!(espi_model::codes::accumulation_behaviour_name(14), Some("boundedQuantity"));
/// ```
pub fn accumulation_behaviour_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "none",
        1 => "bulkQuantity",
        2 => "continuousCumulative",
        3 => "cumulative",
        4 => "deltaData",
        6 => "indicating",
        9 => "summation",
        10 => "timeDelay",
        12 => "instantaneous",
        13 => "latchingQuantity",
        14 => "boundedQuantity",
        _ => return None,
    })
}

/// Name of a CommodityKind (`commodity`), e.g. 7 -> "naturalGas".
///
/// ```
/// assert_eq!(espi_model::codes::commodity_name(26), Some("electricity TransmissionMetered"));
/// ```
pub fn commodity_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "none",
        1 => "electricity SecondaryMetered",
        2 => "electricity PrimaryMetered",
        3 => "communication",
        4 => "air",
        5 => "insulativeGas",
        6 => "insulativeOil",
        7 => "naturalGas",
        8 => "propane",
        9 => "potableWater",
        10 => "steam",
        11 => "wasteWater",
        12 => "heatingFluid",
        13 => "coolingFluid",
        14 => "nonpotableWater",
        15 => "nox",
        16 => "so2",
        17 => "ch4",
        18 => "co2",
        19 => "carbon",
        20 => "hch",
        21 => "pfc",
        22 => "sf6",
        23 => "tvLicence",
        24 => "internet",
        25 => "refuse",
        26 => "electricity TransmissionMetered",
        _ => return None,
    })
}

/// Name of a QualityOfReading (`ReadingQuality/quality`), e.g. 8 -> "estimated using reference day".
///
/// ```
/// assert_eq!(espi_model::codes::quality_name(19), Some("revenue-quality"));
/// ```
pub fn quality_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "valid",
        7 => "manually edited",
        8 => "estimated using reference day",
        9 => "estimated using linear interpolation",
        10 => "questionable",
        11 => "derived",
        12 => "projected (forecast)",
        13 => "mixed",
        14 => "raw",
        15 => "normalized for weather",
        16 => "other",
        17 => "validated",
        18 => "verified",
        19 => "revenue-quality",
        _ => return None,
    })
}

/// Name of a ServiceKind (`ServiceCategory/kind`), e.g. 1 -> "gas".
///
/// ```
/// assert_eq!(espi_model::codes::service_kind_name(9), Some("internet"));
/// ```
pub fn service_kind_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "electricity",
        1 => "gas",
        2 => "water",
        3 => "time",
        4 => "heat",
        5 => "refuse",
        6 => "sewerage",
        7 => "rates",
        8 => "tvLicence",
        9 => "internet",
        _ => return None,
    })
}

/// Name of a DataQualifierKind (`dataQualifier`), e.g. 12 -> "normal".
///
/// ```
/// assert_eq!(espi_model::codes::data_qualifier_name(26), Some("sum"));
/// ```
pub fn data_qualifier_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "none",
        2 => "average",
        4 => "excess",
        5 => "highThreshold",
        7 => "lowThreshold",
        8 => "maximum",
        9 => "minimum",
        11 => "nominal",
        12 => "normal",
        16 => "secondMaximum",
        17 => "secondMinimum",
        23 => "thirdMaximum",
        24 => "fourthMaximum",
        25 => "fifthMaximum",
        26 => "sum",
        _ => return None,
    })
}

/// Name of a MeasurementKind (ReadingType `kind`), e.g. 12 -> "energy".
///
/// ```
/// assert_eq!(espi_model::codes::measurement_kind_name(155), Some("volumetricFlow"));
/// ```
pub fn measurement_kind_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "none",
        2 => "apparentPowerFactor",
        3 => "currency",
        4 => "current",
        5 => "currentAngle",
        6 => "currentImbalance",
        7 => "date",
        8 => "demand",
        9 => "distance",
        10 => "distortionVoltAmperes",
        11 => "energization",
        12 => "energy",
        13 => "energizationLoadSide",
        14 => "fan",
        15 => "frequency",
        16 => "Funds",
        17 => "ieee1366ASAI",
        18 => "ieee1366ASIDI",
        19 => "ieee1366ASIFI",
        20 => "ieee1366CAIDI",
        21 => "ieee1366CAIFI",
        22 => "ieee1366CEMIn",
        23 => "ieee1366CEMSMIn",
        24 => "ieee1366CTAIDI",
        25 => "ieee1366MAIFI",
        26 => "ieee1366MAIFIe",
        27 => "ieee1366SAIDI",
        28 => "ieee1366SAIFI",
        31 => "lineLosses",
        32 => "losses",
        33 => "negativeSequence",
        34 => "phasorPowerFactor",
        35 => "phasorReactivePower",
        36 => "positiveSequence",
        37 => "power",
        38 => "powerFactor",
        40 => "quantityPower",
        41 => "sag",
        42 => "swell",
        43 => "switchPosition",
        44 => "tapPosition",
        45 => "tariffRate",
        46 => "temperature",
        47 => "totalHarmonicDistortion",
        48 => "transformerLosses",
        49 => "unipedeVoltageDip10to15",
        50 => "unipedeVoltageDip15to30",
        51 => "unipedeVoltageDip30to60",
        52 => "unipedeVoltageDip60to90",
        53 => "unipedeVoltageDip90to100",
        54 => "voltage",
        55 => "voltageAngle",
        56 => "voltageExcursion",
        57 => "voltageImbalance",
        58 => "volume",
        59 => "zeroFlowDuration",
        60 => "zeroSequence",
        64 => "distortionPowerFactor",
        81 => "frequencyExcursion",
        90 => "applicationContext",
        91 => "apTitle",
        92 => "assetNumber",
        93 => "bandwidth",
        94 => "batteryVoltage",
        95 => "broadcastAddress",
        96 => "deviceAddressType1",
        97 => "deviceAddressType2",
        98 => "deviceAddressType3",
        99 => "deviceAddressType4",
        100 => "deviceClass",
        101 => "electronicSerialNumber",
        102 => "endDeviceID",
        103 => "groupAddressType1",
        104 => "groupAddressType2",
        105 => "groupAddressType3",
        106 => "groupAddressType4",
        107 => "ipAddress",
        108 => "macAddress",
        109 => "mfgAssignedConfigurationID",
        110 => "mfgAssignedPhysicalSerialNumber",
        111 => "mfgAssignedProductNumber",
        112 => "mfgAssignedUniqueCommunicationAddress",
        113 => "multiCastAddress",
        114 => "oneWayAddress",
        115 => "signalStrength",
        116 => "twoWayAddress",
        117 => "signaltoNoiseRatio",
        118 => "alarm",
        119 => "batteryCarryover",
        120 => "dataOverflowAlarm",
        121 => "demandLimit",
        122 => "demandReset",
        123 => "diagnostic",
        124 => "emergencyLimit",
        125 => "encoderTamper",
        126 => "ieee1366MomentaryInterruption",
        127 => "ieee1366MomentaryInterruptionEvent",
        128 => "ieee1366SustainedInterruption",
        129 => "interruptionBehaviour",
        130 => "inversionTamper",
        131 => "loadInterrupt",
        132 => "loadShed",
        133 => "maintenance",
        134 => "physicalTamper",
        135 => "powerLossTamper",
        136 => "powerOutage",
        137 => "powerQuality",
        138 => "powerRestoration",
        139 => "programmed",
        140 => "pushbutton",
        141 => "relayActivation",
        142 => "relayCycle",
        143 => "removalTamper",
        144 => "reprogrammingTamper",
        145 => "reverseRotationTamper",
        146 => "switchArmed",
        147 => "switchDisabled",
        148 => "tamper",
        149 => "watchdogTimeout",
        150 => "billLastPeriod",
        151 => "billToDate",
        152 => "billCarryover",
        153 => "connectionFee",
        154 => "audibleVolume",
        155 => "volumetricFlow",
        _ => return None,
    })
}

/// Name of a TimeAttributeKind (`measuringPeriod`), e.g. 2 -> "fifteenMinute".
///
/// ```
/// assert_eq!(espi_model::codes::time_attribute_name(77), Some("rollingBlock5MinIntvl1MinSubIntvl"));
/// ```
pub fn time_attribute_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "none",
        1 => "tenMinute",
        2 => "fifteenMinute",
        3 => "oneMinute",
        4 => "twentyfourHour",
        5 => "thirtyMinute",
        6 => "fiveMinute",
        7 => "sixtyMinute",
        10 => "twoMinute",
        14 => "threeMinute",
        15 => "present",
        16 => "previous",
        31 => "twentyMinute",
        50 => "fixedBlock60Min",
        51 => "fixedBlock30Min",
        52 => "fixedBlock20Min",
        53 => "fixedBlock15Min",
        54 => "fixedBlock10Min",
        55 => "fixedBlock5Min",
        56 => "fixedBlock1Min",
        57 => "rollingBlock60MinIntvl30MinSubIntvl",
        58 => "rollingBlock60MinIntvl20MinSubIntvl",
        59 => "rollingBlock60MinIntvl15MinSubIntvl",
        60 => "rollingBlock60MinIntvl12MinSubIntvl",
        61 => "rollingBlock60MinIntvl10MinSubIntvl",
        62 => "rollingBlock60MinIntvl6MinSubIntvl",
        63 => "rollingBlock60MinIntvl5MinSubIntvl",
        64 => "rollingBlock60MinIntvl4MinSubIntvl",
        65 => "rollingBlock30MinIntvl15MinSubIntvl",
        66 => "rollingBlock30MinIntvl10MinSubIntvl",
        67 => "rollingBlock30MinIntvl6MinSubIntvl",
        68 => "rollingBlock30MinIntvl5MinSubIntvl",
        69 => "rollingBlock30MinIntvl3MinSubIntvl",
        70 => "rollingBlock30MinIntvl2MinSubIntvl",
        71 => "rollingBlock15MinIntvl5MinSubIntvl",
        72 => "rollingBlock15MinIntvl3MinSubIntvl",
        73 => "rollingBlock15MinIntvl1MinSubIntvl",
        74 => "rollingBlock10MinIntvl5MinSubIntvl",
        75 => "rollingBlock10MinIntvl2MinSubIntvl",
        76 => "rollingBlock10MinIntvl1MinSubIntvl",
        77 => "rollingBlock5MinIntvl1MinSubIntvl",
        _ => return None,
    })
}

/// Name of a PhaseCodeKind (`phase`), e.g. 769 -> "S12N".
///
/// ```
/// assert_eq!(espi_model::codes::phase_name(784), Some("S12N"));
/// ```
pub fn phase_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "none",
        16 => "N",
        17 => "NG",
        32 => "C",
        33 => "CN",
        40 => "CAv",
        41 => "ACN",
        64 => "B",
        65 => "BN",
        66 => "BC",
        72 => "BAv",
        96 => "AC",
        97 => "BCN",
        128 => "A",
        129 => "AN",
        132 => "AB",
        136 => "AtoAv",
        193 => "ABN",
        224 => "ABC",
        225 => "ABCN",
        256 => "S2",
        272 => "S2N",
        512 => "S1",
        528 => "S1N",
        768 => "S12",
        769 => "S12N",
        784 => "S12N",
        _ => return None,
    })
}

/// Name of a UnitMultiplierKind (`powerOfTenMultiplier`) SI prefix, e.g. 3 -> "k".
///
/// ```
/// assert_eq!(espi_model::codes::multiplier_prefix(12), Some("T"));
/// ```
pub fn multiplier_prefix(code: i64) -> Option<&'static str> {
    Some(match code {
        -12 => "p",
        -9 => "n",
        -6 => "micro",
        -3 => "m",
        -2 => "c",
        -1 => "d",
        0 => "none",
        1 => "da",
        2 => "h",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        _ => return None,
    })
}

/// Name of a Currency (ISO 4217 numeric), e.g. 840 -> "USD".
///
/// ```
/// assert_eq!(espi_model::codes::currency_code(978), Some("EUR"));
/// ```
pub fn currency_code(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "other",
        36 => "AUD",
        124 => "CAD",
        156 => "CNY",
        208 => "DKK",
        356 => "INR",
        392 => "JPY",
        578 => "NOK",
        643 => "RUB",
        752 => "SEK",
        756 => "CHF",
        826 => "GBP",
        840 => "USD",
        978 => "EUR",
        _ => return None,
    })
}

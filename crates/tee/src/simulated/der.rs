//! The few DER encodings the PCK certificate's SGX extension needs (sequences, object
//! identifiers, integers, octet strings, enumerations).

/// One tag-length-value.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = length.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of already encoded items.
pub(crate) fn sequence(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &items.concat())
}

/// An OBJECT IDENTIFIER.
pub(crate) fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    let first = arcs.first().copied().unwrap_or(0) * 40 + arcs.get(1).copied().unwrap_or(0);
    for arc in std::iter::once(first).chain(arcs.iter().skip(2).copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        content.extend(groups.iter().rev());
    }
    tlv(0x06, &content)
}

/// A non-negative INTEGER.
pub(crate) fn integer(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut content = bytes[skip..].to_vec();
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    tlv(0x02, &content)
}

/// An OCTET STRING.
pub(crate) fn octets(value: &[u8]) -> Vec<u8> {
    tlv(0x04, value)
}

/// An ENUMERATED.
pub(crate) fn enumerated(value: u8) -> Vec<u8> {
    tlv(0x0a, &[value])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_known_der() {
        // 1.2.840.113741.1.13.1, Intel's SGX extension.
        assert_eq!(
            oid(&[1, 2, 840, 113741, 1, 13, 1]),
            hex::decode("06092a864886f84d010d01").expect("hex")
        );
        assert_eq!(integer(0), [0x02, 0x01, 0x00]);
        assert_eq!(integer(200), [0x02, 0x02, 0x00, 0xc8]);
        assert_eq!(integer(0x0102), [0x02, 0x02, 0x01, 0x02]);
        assert_eq!(tlv(0x04, &[7; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[7; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }
}

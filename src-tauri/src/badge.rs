//! The tray icon's picture: Warden's icon made small, with a red badge holding the
//! number of approvals that wait (`9+` above nine). Plain RGBA pixels, drawn here so the
//! count shows on every tray, including those that do not show a label beside the icon.

/// The tray icon's side, in pixels.
pub const SIZE: u32 = 32;

/// `src` (RGBA, `width`×`height`) shrunk to `SIZE`×`SIZE` by averaging blocks.
pub fn shrink(src: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = vec![0u8; (SIZE * SIZE * 4) as usize];
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (x0, x1) = (
                x * width / SIZE,
                ((x + 1) * width / SIZE).max(x * width / SIZE + 1),
            );
            let (y0, y1) = (
                y * height / SIZE,
                ((y + 1) * height / SIZE).max(y * height / SIZE + 1),
            );
            let mut sum = [0u64; 4];
            let mut n = 0u64;
            for sy in y0..y1.min(height) {
                for sx in x0..x1.min(width) {
                    let i = ((sy * width + sx) * 4) as usize;
                    for (c, total) in sum.iter_mut().enumerate() {
                        *total += u64::from(src[i + c]);
                    }
                    n += 1;
                }
            }
            let o = ((y * SIZE + x) * 4) as usize;
            for c in 0..4 {
                out[o + c] = (sum[c] / n.max(1)) as u8;
            }
        }
    }
    out
}

/// 3×5 glyphs, one row per byte (the low three bits, left to right).
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '+' => [0b000, 0b010, 0b111, 0b010, 0b000],
        _ => [0; 5],
    }
}

/// The badge's text for a count: `1`…`9`, then `9+`.
pub fn badge_text(count: usize) -> String {
    if count > 9 {
        "9+".to_string()
    } else {
        count.to_string()
    }
}

const BADGE_CENTRE: (i64, i64) = (22, 22);
const BADGE_RADIUS: i64 = 10;
const RED: [u8; 4] = [0xd9, 0x2d, 0x20, 0xff];
const WHITE: [u8; 4] = [0xff, 0xff, 0xff, 0xff];
/// Each glyph pixel is drawn as a square this wide.
const SCALE: i64 = 2;

/// `icon` (`SIZE`×`SIZE` RGBA) with the count's badge; unchanged when nothing waits.
pub fn with_badge(icon: &[u8], count: usize) -> Vec<u8> {
    let mut out = icon.to_vec();
    if count == 0 {
        return out;
    }
    let mut put = |x: i64, y: i64, colour: [u8; 4]| {
        if (0..i64::from(SIZE)).contains(&x) && (0..i64::from(SIZE)).contains(&y) {
            let i = ((y * i64::from(SIZE) + x) * 4) as usize;
            out[i..i + 4].copy_from_slice(&colour);
        }
    };
    let (cx, cy) = BADGE_CENTRE;
    for y in cy - BADGE_RADIUS..=cy + BADGE_RADIUS {
        for x in cx - BADGE_RADIUS..=cx + BADGE_RADIUS {
            if (x - cx).pow(2) + (y - cy).pow(2) <= BADGE_RADIUS.pow(2) {
                put(x, y, RED);
            }
        }
    }
    let text: Vec<char> = badge_text(count).chars().collect();
    let width = text.len() as i64 * 3 * SCALE + (text.len() as i64 - 1) * SCALE;
    let (left, top) = (cx - width / 2, cy - 5 * SCALE / 2);
    for (k, c) in text.iter().enumerate() {
        let gx = left + k as i64 * 4 * SCALE;
        for (row, bits) in glyph(*c).iter().enumerate() {
            for col in 0..3 {
                if bits & (0b100 >> col) != 0 {
                    for dy in 0..SCALE {
                        for dx in 0..SCALE {
                            put(gx + col * SCALE + dx, top + row as i64 * SCALE + dy, WHITE);
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn plain() -> Vec<u8> {
        vec![0x40; (SIZE * SIZE * 4) as usize]
    }

    #[test]
    fn nothing_waiting_leaves_the_icon_alone() {
        assert_eq!(with_badge(&plain(), 0), plain());
    }

    #[test]
    fn every_count_up_to_ten_draws_a_picture_of_its_own() {
        let pictures: BTreeSet<Vec<u8>> = (0..=10).map(|n| with_badge(&plain(), n)).collect();
        assert_eq!(pictures.len(), 11);
        // Above nine the badge says 9+.
        assert_eq!(with_badge(&plain(), 10), with_badge(&plain(), 250));
        assert_eq!(badge_text(10), "9+");
    }

    #[test]
    fn the_badge_has_red_around_white_figures_inside_the_icon() {
        for n in [1, 7, 42] {
            let out = with_badge(&plain(), n);
            let pixel = |x: u32, y: u32| &out[((y * SIZE + x) * 4) as usize..][..4];
            assert_eq!(pixel(22, 13), RED, "top of the badge for {n}");
            assert!(
                (14..31).any(|x| (14..31).any(|y| pixel(x, y) == WHITE)),
                "figures for {n}"
            );
            assert_eq!(
                pixel(2, 2),
                &[0x40; 4],
                "the icon's corner is untouched for {n}"
            );
        }
    }

    #[test]
    fn shrinking_averages_blocks() {
        // Left half black, right half white, 64×64 → 32×32 keeps the halves.
        let mut src = Vec::new();
        for _y in 0..64 {
            for x in 0..64 {
                let v = if x < 32 { 0 } else { 255 };
                src.extend_from_slice(&[v, v, v, 255]);
            }
        }
        let out = shrink(&src, 64, 64);
        assert_eq!(out.len(), (SIZE * SIZE * 4) as usize);
        assert_eq!(&out[0..4], &[0, 0, 0, 255]);
        assert_eq!(&out[(31 * 4) as usize..][..4], &[255, 255, 255, 255]);
    }
}

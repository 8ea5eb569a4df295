//! Boxes, fill and crop, stretching and enlarging; and decoding that fits in memory: decodes
//! reserve what they allocate from the engine's budget, so large images that do not fit beside
//! each other are decoded one after the other, and one that can never fit is refused with its
//! figures. Images are made by the tests.

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use common::images::jpeg_with_exif;
use common::*;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use shrinkwrap::engine::{
    Engine, Fit, JobReport, JobSpec, JobState, ProblemKind, ThumbFormat, ThumbSize, ThumbSpec,
};

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// `w` x `h`: blue at the left and right quarters, red in the middle half.
fn red_middle(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, _| {
        if x >= w / 4 && x < w - w / 4 {
            Rgb([230, 20, 20])
        } else {
            Rgb([20, 20, 230])
        }
    }))
}

fn run(engine: &Engine, spec: ThumbSpec) -> JobReport {
    let (report, _) = run_job(engine, JobSpec::Thumbs(spec));
    report
}

fn spec(input: &Path, out: &Path, size: ThumbSize, fit: Fit) -> ThumbSpec {
    let mut spec = ThumbSpec::new(vec![input.to_path_buf()], out.to_path_buf());
    spec.sizes = vec![size];
    spec.fit = fit;
    spec.format = ThumbFormat::Png;
    spec
}

fn open(path: &Path) -> RgbImage {
    image::open(path).unwrap().to_rgb8()
}

#[test]
fn cover_fills_the_box_exactly_and_keeps_the_centre() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("wide.png");
    write(&input, &encode(&red_middle(800, 400), ImageFormat::Png));
    let out = tmp.path().join("out");
    let engine = Engine::new(2);
    let report = run(
        &engine,
        spec(&input, &out, ThumbSize::square(100), Fit::Cover),
    );
    assert_eq!(report.progress.state, JobState::Done, "{report:?}");
    let img = open(&out.join("wide.png"));
    assert_eq!(img.dimensions(), (100, 100));
    // The middle 400 x 400 of the source is all red: so is the whole thumbnail.
    for (x, y, p) in img.enumerate_pixels() {
        assert!(
            p[0] > 200 && p[2] < 60,
            "({x}, {y}) is {p:?}: the sides were kept"
        );
    }

    // A box that is not square: 200 x 50 from the same image keeps the full width's middle
    // band, so both colours show, blue at the edges.
    let report = run(
        &engine,
        spec(
            &input,
            &tmp.path().join("band"),
            ThumbSize::new(200, 50),
            Fit::Cover,
        ),
    );
    assert_eq!(report.progress.state, JobState::Done, "{report:?}");
    let band = open(&tmp.path().join("band/wide.png"));
    assert_eq!(band.dimensions(), (200, 50));
    assert!(band.get_pixel(2, 25)[2] > 200, "left edge blue");
    assert!(band.get_pixel(100, 25)[0] > 200, "middle red");
}

#[test]
fn contain_and_exact_in_a_box_and_nothing_enlarged_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.png");
    write(&big, &encode(&red_middle(800, 400), ImageFormat::Png));
    let small = tmp.path().join("small.png");
    write(&small, &encode(&red_middle(60, 30), ImageFormat::Png));
    let engine = Engine::new(2);
    let size_of = |input: &Path, size: ThumbSize, fit: Fit, upscale: bool| {
        let out = tmp
            .path()
            .join(format!("out-{size}-{}-{upscale}", fit.id()));
        let mut s = spec(input, &out, size, fit);
        s.upscale = upscale;
        let report = run(&engine, s);
        assert_eq!(report.progress.state, JobState::Done, "{report:?}");
        let name = input.file_name().unwrap();
        open(&out.join(name)).dimensions()
    };
    let box_ = ThumbSize::new(300, 100);
    assert_eq!(size_of(&big, box_, Fit::Contain, false), (200, 100));
    assert_eq!(size_of(&big, box_, Fit::Exact, false), (300, 100));
    assert_eq!(size_of(&big, box_, Fit::Cover, false), (300, 100));
    // Smaller than the box: kept as it is, or the largest box of the same shape it fills.
    let square = ThumbSize::square(120);
    assert_eq!(size_of(&small, square, Fit::Contain, false), (60, 30));
    assert_eq!(size_of(&small, square, Fit::Cover, false), (30, 30));
    assert_eq!(size_of(&small, square, Fit::Exact, false), (30, 30));
    // Enlarged on request.
    assert_eq!(size_of(&small, square, Fit::Contain, true), (120, 60));
    assert_eq!(size_of(&small, square, Fit::Cover, true), (120, 120));
    assert_eq!(size_of(&small, square, Fit::Exact, true), (120, 120));
}

#[test]
fn cover_crops_around_the_subject_the_photo_names_whatever_its_orientation() {
    // Stored 400 x 200, green square around (60, 100) on grey: the subject is at the left.
    let stored = RgbImage::from_fn(400, 200, |x, y| {
        if (20..100).contains(&x) && (60..140).contains(&y) {
            Rgb([20, 220, 20])
        } else {
            Rgb([128, 128, 128])
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let engine = Engine::new(2);
    for orientation in [1u16, 3, 6, 8] {
        let input = tmp.path().join(format!("o{orientation}.jpg"));
        write(
            &input,
            &jpeg_with_exif(&stored, orientation, Some((60, 100))),
        );
        let out = tmp.path().join(format!("out{orientation}"));
        let report = run(
            &engine,
            spec(&input, &out, ThumbSize::square(50), Fit::Cover),
        );
        assert_eq!(report.progress.state, JobState::Done, "{report:?}");
        let img = open(&out.join(format!("o{orientation}.png")));
        assert_eq!(img.dimensions(), (50, 50));
        // The crop (200 x 200 of the stored image, scaled to 50) holds the whole green square.
        let green = img.pixels().filter(|p| p[1] > 180 && p[0] < 80).count();
        assert!(
            green > 300,
            "orientation {orientation}: {green} green pixels; the crop missed the subject"
        );
    }
    // Without a subject the crop is centred, and the square (at the left) is mostly cut away.
    let input = tmp.path().join("plain.jpg");
    write(&input, &jpeg_with_exif(&stored, 1, None));
    let out = tmp.path().join("plain-out");
    run(
        &engine,
        spec(&input, &out, ThumbSize::square(50), Fit::Cover),
    );
    let img = open(&out.join("plain.png"));
    let green = img.pixels().filter(|p| p[1] > 180 && p[0] < 80).count();
    assert!(
        green <= 10,
        "a centred crop of 400 x 200 starts at x = 100: {green} green"
    );
}

#[test]
fn large_decodes_that_do_not_fit_together_run_one_after_the_other() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("panoramas");
    // Each 3000 x 2000 16-bit RGBA PNG (as panoramas stitched from raw files are) is decoded
    // whole, 48 MB, then copied to 8 bits, 24 MB: two never fit in 80 MB together. (An 8-bit
    // PNG this size is reduced on load and costs a few MB.)
    for name in ["a.png", "b.png", "c.png"] {
        let img = image::ImageBuffer::<image::Rgba<u16>, _>::from_fn(3000, 2000, |x, y| {
            image::Rgba([
                (x % 251) as u16 * 257,
                (y % 241) as u16 * 257,
                7 * 257,
                (255 - (x % 7) as u16) * 257,
            ])
        });
        write(
            &src.join(name),
            &encode(&DynamicImage::ImageRgba16(img), ImageFormat::Png),
        );
    }
    let engine = Engine::new(2);
    engine.set_memory_budget(Some(80_000_000));
    let out = tmp.path().join("out");
    let mut s = ThumbSpec::new(vec![src.clone()], out.clone());
    s.sizes = vec![ThumbSize::square(128)];
    let report = run(&engine, s.clone());
    assert_eq!(report.progress.state, JobState::Done, "{report:?}");
    assert_eq!(report.outputs.len(), 3);
    let peak = engine.memory_peak_bytes();
    assert!(
        peak > 40_000_000 && peak <= 80_000_000,
        "at most one panorama decoded at a time: {peak} bytes held at once"
    );

    // A budget smaller than one decode: each is refused, with its figures, and nothing is
    // written.
    engine.set_memory_budget(Some(20_000_000));
    let out2 = tmp.path().join("out2");
    let report = run(
        &engine,
        ThumbSpec {
            output_dir: out2.clone(),
            ..s
        },
    );
    assert!(report.outputs.is_empty(), "{report:?}");
    let errors: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Error)
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    for e in errors {
        let cause = e.cause.to_string();
        assert!(
            cause.contains("3000x2000") && cause.contains("memory budget of 20 MB"),
            "{cause}"
        );
    }
    assert!(!out2.join("panoramas/a.jpg").exists());
}

/// A baseline greyscale JPEG of `side` x `side` pixels, every block flat mid-grey, crafted
/// without encoding a single pixel: one Huffman code (`0`) for DC difference 0 and one for
/// end-of-block, so each 8 x 8 block is two zero bits.
fn flat_grey_jpeg(side: u16) -> Vec<u8> {
    let mut d = vec![0xFF, 0xD8];
    // DQT: table 0, all ones.
    d.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    d.extend_from_slice(&[1u8; 64]);
    // SOF0: 8-bit, side x side, one component (id 1, 1x1, table 0).
    d.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08]);
    d.extend_from_slice(&side.to_be_bytes());
    d.extend_from_slice(&side.to_be_bytes());
    d.extend_from_slice(&[0x01, 0x01, 0x11, 0x00]);
    // DHT: DC table 0 and AC table 0, each one code of length 1 for symbol 0.
    for class in [0x00u8, 0x10] {
        d.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 1]);
        d.extend_from_slice(&[0u8; 15]);
        d.push(0);
    }
    // SOS: one component, tables 0/0, full spectrum.
    d.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
    let blocks = (usize::from(side) / 8).pow(2);
    d.resize(d.len() + blocks.div_ceil(4), 0);
    d.extend_from_slice(&[0xFF, 0xD9]);
    d
}

#[test]
fn a_151_megapixel_jpeg_is_made_at_one_eighth_and_a_bomb_is_refused_at_once() {
    use shrinkwrap::engine::kinds::thumbs::decode::{DecodeScratch, decode};
    // 12,304 x 12,304 = 151.4 megapixels.
    let data = flat_grey_jpeg(12_304);
    let decoded = decode(&data, 512, &mut DecodeScratch::new()).unwrap();
    assert_eq!(
        (decoded.image.width(), decoded.image.height()),
        (1538, 1538),
        "decoded at 1/8"
    );

    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("huge.jpg");
    write(&input, &data);
    // A PNG header claiming 65,500 x 65,500 pixels (its IHDR CRC made right).
    let mut png = encode(&red_middle(8, 8), ImageFormat::Png);
    let ihdr = png.windows(4).position(|w| w == b"IHDR").unwrap();
    png[ihdr + 4..ihdr + 12].copy_from_slice(&[0, 0, 0xFF, 0xDC, 0, 0, 0xFF, 0xDC]);
    let crc = crc32fast::hash(&png[ihdr..ihdr + 17]);
    png[ihdr + 17..ihdr + 21].copy_from_slice(&crc.to_be_bytes());
    let bomb = tmp.path().join("bomb.png");
    write(&bomb, &png);
    let engine = Engine::new(2);
    let out = tmp.path().join("out");
    let mut s = ThumbSpec::new(vec![input.clone(), bomb.clone()], out.clone());
    s.sizes = vec![ThumbSize::square(256)];
    let report = run(&engine, s);
    let outputs: Vec<PathBuf> = report.outputs.clone();
    assert_eq!(outputs, [out.join("huge.jpg")], "{report:?}");
    let img = image::open(&outputs[0]).unwrap();
    assert_eq!((img.width(), img.height()), (256, 256));
    let problem = report
        .problems
        .iter()
        .find(|p| p.path == bomb)
        .expect("the bomb is refused");
    let cause = problem.cause.to_string();
    assert!(cause.contains("65500x65500"), "{cause}");
}

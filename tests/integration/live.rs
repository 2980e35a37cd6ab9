//! Live mode's rules (`layercam::live`): which class a frame follows, a frame's pixels, the size a
//! frame is read at, the frame rate, and what the page says when the camera does not start. The
//! worker's side of a frame is in `session`.

use layercam::explain::Prediction;
use layercam::live::{FrameRate, HYSTERESIS, Target, camera_refusal, capture_size, followed_class, frame_picture};

/// Top classes from (class, probability) pairs, best first.
fn top(classes: &[(usize, f32)]) -> Vec<Prediction> {
    classes.iter().map(|&(class, prob)| Prediction { class, label: format!("class {class}"), logit: prob.ln(), prob }).collect()
}

#[test]
fn the_class_on_screen_stays_until_another_leads_it_by_the_hysteresis() {
    assert_eq!(HYSTERESIS, 0.1);
    let near = top(&[(1, 0.75), (2, 0.6875), (3, 0.01)]); // 2 trails by 0.0625
    let clear = top(&[(1, 0.75), (2, 0.625), (3, 0.01)]); // 2 trails by 0.125
    assert_eq!(followed_class(None, &near), 1, "nothing on screen: the top-1");
    assert_eq!(followed_class(Some(2), &near), 2, "a near tie keeps the class on screen");
    assert_eq!(followed_class(Some(2), &clear), 1, "a clear lead takes over");
    assert_eq!(followed_class(Some(1), &clear), 1);
    assert_eq!(followed_class(Some(7), &near), 1, "a class no longer among the top ones gives way");
    assert_eq!(Target::Follow { shown: Some(2) }.class(&near), 2);
    assert_eq!(Target::Locked(7).class(&clear), 7, "a locked class whatever the frame says");
}

#[test]
fn two_near_equal_classes_swapping_from_frame_to_frame_do_not_flicker() {
    // A shaking camera on Chelsea: tiger cat and Egyptian cat swap places frame after frame, then
    // the cup of espresso comes into view.
    let mut frames: Vec<Vec<Prediction>> =
        (0..20).map(|i| if i % 2 == 0 { top(&[(282, 0.42), (285, 0.38)]) } else { top(&[(285, 0.43), (282, 0.37)]) }).collect();
    frames.extend((0..5).map(|_| top(&[(967, 0.81), (504, 0.05)])));
    let mut shown = None;
    let mut switches = 0;
    for frame in &frames {
        let class = Target::Follow { shown }.class(frame);
        switches += usize::from(shown.is_some_and(|s| s != class));
        shown = Some(class);
    }
    assert_eq!(switches, 1, "one switch, to the espresso");
    assert_eq!(shown, Some(967));
    // Without the hysteresis, every frame would switch.
    let plain = frames.windows(2).filter(|w| followed_class(None, &w[0]) != followed_class(None, &w[1])).count();
    assert_eq!(plain, 20);
}

#[test]
fn a_frames_rgba_pixels_are_its_photo_and_a_wrong_frame_is_named() {
    let (width, height) = (9, 8);
    let rgba: Vec<u8> = (0..width * height).flat_map(|i| [i as u8, (2 * i) as u8, 255 - i as u8, 255]).collect();
    let picture = frame_picture(width, height, rgba).unwrap();
    assert_eq!(picture.dimensions(), (9, 8));
    assert_eq!(picture.get_pixel(4, 3).0, [31, 62, 224], "pixel 3 × 9 + 4 = 31, alpha dropped");
    assert_eq!(frame_picture(9, 8, vec![0; 10]).unwrap_err().to_string(), "invalid input: a 9×8 frame has 288 bytes of RGBA, not 10");
    assert_eq!(
        frame_picture(9, 4, vec![0; 144]).unwrap_err().to_string(),
        "invalid input: the frame is 9×4; a frame's sides must lie between 8 and 16384 pixels"
    );
}

#[test]
fn a_frame_is_read_at_twice_the_model_inputs_shorter_side_at_most() {
    let input = [224, 224];
    assert_eq!(capture_size((640, 480), input), (597, 448));
    assert_eq!(capture_size((1920, 1080), input), (796, 448));
    assert_eq!(capture_size((1080, 1920), input), (448, 796), "a phone held upright");
    assert_eq!(capture_size((480, 320), input), (480, 320), "a small video as it is");
    assert_eq!(capture_size((640, 480), [384, 384]), (640, 480));
}

#[test]
fn the_frame_rate_counts_the_last_three_seconds() {
    let mut rate = FrameRate::default();
    assert_eq!(rate.fps(), None);
    rate.shown(0.0);
    assert_eq!(rate.fps(), None, "one frame is no rate");
    (1..=10).for_each(|i| rate.shown(f64::from(i) * 100.0));
    assert_eq!(rate.fps(), Some(10.0));
    // Slower now: two frames a second for ten seconds; the window forgets the fast start.
    (1..=20).for_each(|i| rate.shown(1000.0 + f64::from(i) * 500.0));
    assert_eq!(rate.fps(), Some(2.0));
    // A very slow machine: one frame every 5 s still has a rate.
    rate.clear();
    rate.shown(0.0);
    rate.shown(5000.0);
    assert_eq!(rate.fps(), Some(0.2));
}

#[test]
fn a_camera_that_does_not_start_says_why_and_what_to_do() {
    let refused = camera_refusal("NotAllowedError", "Permission denied");
    assert!(refused.starts_with("the permission to use the camera was refused"), "{refused}");
    assert_eq!(camera_refusal("NotFoundError", "Requested device not found"), "no camera was found on this machine");
    assert!(camera_refusal("NotReadableError", "Could not start video source").starts_with("the camera is in use by another program"));
    assert!(camera_refusal("NoMediaDevices", "").contains("secure pages only"));
    assert_eq!(camera_refusal("TypeError", "odd"), "TypeError: odd");
}
